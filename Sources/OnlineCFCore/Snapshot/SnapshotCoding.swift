import Foundation

/// A part of a model that a snapshot holds: it writes itself to a ``SnapshotEncoder`` and
/// reads itself back from a ``SnapshotDecoder``, field by field in a fixed order.
///
/// Guarantees: `init(from:)` over what `encode(to:)` wrote rebuilds a value that behaves
/// exactly as the original under every later operation (the same answers, the same
/// state after the same updates); the change marks of what is not yet emitted travel
/// with it.
public protocol SnapshotCodable {
    func encode(to encoder: inout SnapshotEncoder)
    init(from decoder: inout SnapshotDecoder) throws(SnapshotError)
}

/// Writes a snapshot as a flat byte string: fixed-width values in the machine's byte
/// order (little-endian on every platform OnlineCF builds for), arrays as a 64-bit count
/// then their elements' bytes, strings as their UTF-8 length then bytes.
///
/// In memory (``init(reservingCapacity:)``) the string collects in ``bytes``. Streamed
/// (``init(chunkSize:sink:)``) it is handed to the sink in chunks of exactly `chunkSize`
/// bytes as it is written, the last one shorter at ``finish()``: the encoder never holds
/// more than one chunk, so a snapshot costs no second copy of the model.
///
/// The layout is the snapshot format: changing what a part writes, or its order, is a
/// new ``CFModel/snapshotFormatVersion``.
public struct SnapshotEncoder {
    /// What is written and not yet handed to a sink.
    public private(set) var bytes: [UInt8] = []
    /// Bytes written so far (handed to the sink or not).
    public var count: Int { handed + bytes.count }
    private var handed = 0
    private let chunkSize: Int
    private let sink: ((ArraySlice<UInt8>) -> Void)?

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
        chunkSize = .max
        sink = nil
    }

    /// A streamed encoder: `sink` receives every `chunkSize` bytes as soon as they are
    /// written, in order; call ``finish()`` for the rest.
    public init(chunkSize: Int, sink: @escaping (ArraySlice<UInt8>) -> Void) {
        precondition(chunkSize > 0)
        self.chunkSize = chunkSize
        self.sink = sink
        bytes.reserveCapacity(chunkSize)
    }

    /// Hands what is left (possibly nothing) to a streamed encoder's sink.
    public mutating func finish() {
        guard let sink else { return }
        sink(bytes[...])
        handed += bytes.count
        bytes.removeAll(keepingCapacity: false)
    }

    private mutating func append(_ raw: UnsafeRawBufferPointer) {
        guard let sink else { bytes.append(contentsOf: raw); return }
        var from = 0
        while from < raw.count {
            let n = Swift.min(raw.count - from, chunkSize - bytes.count)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[from..<(from + n)]))
            from += n
            if bytes.count == chunkSize {
                sink(bytes[...])
                handed += chunkSize
                bytes.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Raw bytes, as they are (a part that writes its own arrays).
    mutating func write(raw: UnsafeRawBufferPointer) { append(raw) }

    public mutating func write<T: BitwiseCopyable>(value: T) {
        withUnsafeBytes(of: value) { append($0) }
    }

    public mutating func write(bool: Bool) { write(value: UInt8(bool ? 1 : 0)) }

    public mutating func write(int: Int) { write(value: Int64(int)) }

    /// The elements' bytes in one copy.
    public mutating func write<T: BitwiseCopyable>(array: [T]) {
        write(int: array.count)
        array.withUnsafeBytes { append($0) }
    }

    /// The lengths first, then every element of every array.
    public mutating func write<T: BitwiseCopyable>(arrays: [[T]]) {
        write(int: arrays.count)
        for a in arrays { write(value: UInt32(a.count)) }
        for a in arrays { a.withUnsafeBytes { append($0) } }
    }

    public mutating func write(string: String) {
        var s = string
        s.withUTF8 { utf8 in
            write(int: utf8.count)
            append(UnsafeRawBufferPointer(utf8))
        }
    }

    public mutating func write(strings: [String]) {
        write(int: strings.count)
        for s in strings { write(string: s) }
    }

    public mutating func write<T: SnapshotCodable>(part: T) { part.encode(to: &self) }

    public mutating func write<T: SnapshotCodable>(optionalPart part: T?) {
        write(bool: part != nil)
        part?.encode(to: &self)
    }

    public mutating func write<T: SnapshotCodable>(parts: [T]) {
        write(int: parts.count)
        for p in parts { p.encode(to: &self) }
    }

    /// An open-addressing table of 64-bit slots (0: empty): its size, a bitmap of its
    /// occupied slots, then only those slots in order — a third less than the whole table
    /// at a usual load, and read back into the same places without hashing
    /// (``SnapshotDecoder/readSlotTable(damaged:)``).
    public mutating func write(slotTable slots: [UInt64], occupied count: Int) {
        write(int: slots.count)
        var occupancy = [UInt64](repeating: 0, count: (slots.count + 63) / 64)
        for (i, slot) in slots.enumerated() where slot != 0 { occupancy[i >> 6] |= 1 << UInt64(i & 63) }
        write(array: occupancy)
        // The occupied slots as an array (its count, then its elements), gathered a few
        // thousand at a time: no copy of the table.
        write(int: count)
        var batch: [UInt64] = []
        batch.reserveCapacity(4096)
        var written = 0
        for slot in slots where slot != 0 {
            batch.append(slot)
            if batch.count == 4096 {
                batch.withUnsafeBytes { append($0) }
                written += batch.count
                batch.removeAll(keepingCapacity: true)
            }
        }
        batch.withUnsafeBytes { append($0) }
        written += batch.count
        precondition(written == count, "a slot table's occupied count is not its number of occupied slots")
    }
}

/// Reads what a ``SnapshotEncoder`` wrote, in the same order. Every read is bounds-checked:
/// a truncated or damaged snapshot throws ``SnapshotError`` instead of trapping.
///
/// From memory (``init(bytes:)``) or streamed (``init(totalBytes:source:)``): the source
/// is asked for the next chunk only when a read needs it, so the decoder holds about one
/// chunk beyond the value being read, and the source may stop the read by throwing.
public struct SnapshotDecoder {
    /// The bytes being read: the whole snapshot, a chunk from the source, or a bridge (the
    /// end of one chunk and the start of the next, for a read that spans them).
    private var buffer: [UInt8]
    /// The read position in `buffer`.
    private var at = 0
    /// Streamed: the chunk a bridge was cut from, read on from `pendingAt` once the
    /// bridge is read (so a chunk is copied only where a read spans two).
    private var pending: [UInt8]?
    private var pendingAt = 0
    /// Bytes read so far.
    public private(set) var offset = 0
    private let total: Int
    private let source: (() throws(SnapshotError) -> [UInt8]?)?

    public init(bytes: [UInt8], offset: Int = 0) {
        buffer = bytes
        at = offset
        self.offset = offset
        total = bytes.count
        source = nil
    }

    /// A streamed decoder over `totalBytes` bytes, which `source` gives chunk by chunk
    /// (nil: no more).
    public init(totalBytes: Int, source: @escaping () throws(SnapshotError) -> [UInt8]?) {
        buffer = []
        total = totalBytes
        self.source = source
    }

    public var isAtEnd: Bool { offset == total && at == buffer.count && pending == nil }

    private func endsEarly(_ count: Int) -> SnapshotError {
        SnapshotError("the snapshot ends early (reading \(count) bytes at offset \(offset) of \(total)): it is truncated or damaged")
    }

    /// The next chunk: the rest of a pending one, or the source's.
    private mutating func nextChunk(_ count: Int) throws(SnapshotError) -> (bytes: [UInt8], from: Int) {
        if let chunk = pending {
            pending = nil
            return (chunk, pendingAt)
        }
        guard let source, let chunk = try source(), !chunk.isEmpty else { throw endsEarly(count) }
        return (chunk, 0)
    }

    /// Makes `count` bytes readable at `at` in `buffer` and returns where they start.
    private mutating func take(_ count: Int) throws(SnapshotError) -> Int {
        guard count >= 0, count <= total - offset else { throw endsEarly(count) }
        if at == buffer.count && count > 0, pending != nil || source != nil {
            // The buffer is read: go on in the next chunk, without copying it.
            (buffer, at) = try nextChunk(count)
        }
        if buffer.count - at < count {
            // A read across chunks: a bridge of the bytes it needs.
            var bridge = [UInt8](buffer[at...])
            bridge.reserveCapacity(count)
            while bridge.count < count {
                let (chunk, from) = try nextChunk(count)
                let need = count - bridge.count
                if chunk.count - from <= need {
                    bridge.append(contentsOf: chunk[from...])
                } else {
                    bridge.append(contentsOf: chunk[from..<(from + need)])
                    pending = chunk
                    pendingAt = from + need
                }
            }
            buffer = bridge
            at = 0
        }
        defer { at += count; offset += count }
        return at
    }

    public mutating func read<T: BitwiseCopyable>(_ type: T.Type = T.self) throws(SnapshotError) -> T {
        let from = try take(MemoryLayout<T>.size)
        return buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: from, as: T.self) }
    }

    public mutating func readBool() throws(SnapshotError) -> Bool {
        let from = try take(1)
        switch buffer[from] {
        case 0: return false
        case 1: return true
        default: throw SnapshotError("a flag in the snapshot at offset \(offset - 1) is \(buffer[from]), not 0 or 1: the snapshot is damaged")
        }
    }

    public mutating func readInt() throws(SnapshotError) -> Int {
        let v: Int64 = try read()
        return Int(v)
    }

    /// A count that cannot exceed what is left, at `minimumSize` bytes per element.
    private mutating func readCount(minimumSize: Int) throws(SnapshotError) -> Int {
        let n = try readInt()
        guard n >= 0, n <= (total - offset) / Swift.max(minimumSize, 1) else {
            throw SnapshotError("the snapshot holds a count of \(n) at offset \(offset - 8), more than what is left: it is truncated or damaged")
        }
        return n
    }

    public mutating func readArray<T: BitwiseCopyable>(of type: T.Type = T.self) throws(SnapshotError) -> [T] {
        let n = try readCount(minimumSize: MemoryLayout<T>.stride)
        return try copyElements(n)
    }

    private mutating func copyElements<T: BitwiseCopyable>(_ n: Int) throws(SnapshotError) -> [T] {
        let size = n * MemoryLayout<T>.stride
        guard n > 0 else { return [] }
        let from = try take(size)
        return [T](unsafeUninitializedCapacity: n) { elements, count in
            buffer.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(elements).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[from..<(from + size)]))
            }
            count = n
        }
    }

    /// Reads an array written by ``SnapshotEncoder/write(array:)`` without copying it:
    /// `body` gets its element count and its bytes where they lie in the decoder's buffer
    /// (valid only during the call; elements are not aligned, read them with
    /// `loadUnaligned`).
    public mutating func withArrayBytes<T: BitwiseCopyable, R>(of type: T.Type, _ body: (Int, UnsafeRawBufferPointer) -> R) throws(SnapshotError) -> R {
        let n = try readCount(minimumSize: MemoryLayout<T>.stride)
        let size = n * MemoryLayout<T>.stride
        let from = try take(size)
        return buffer.withUnsafeBytes { body(n, UnsafeRawBufferPointer(rebasing: $0[from..<(from + size)])) }
    }

    /// Reads a table written by ``SnapshotEncoder/write(slotTable:occupied:)`` back into
    /// the same slots (the occupied ones straight from the buffer): the slots and how many
    /// are occupied. Throws `damaged` when the parts disagree (a bitmap of another length
    /// or with bits past the size, another count of slots, an occupied slot that is 0).
    public mutating func readSlotTable(damaged: @autoclosure () -> String) throws(SnapshotError) -> (slots: [UInt64], occupied: Int) {
        let capacity = try readInt()
        let occupancy: [UInt64] = try readArray()
        guard capacity >= 0, occupancy.count == (capacity + 63) / 64,
              capacity % 64 == 0 || occupancy.last! >> UInt64(capacity % 64) == 0 else { throw SnapshotError(damaged()) }
        let occupied = occupancy.reduce(0) { $0 + $1.nonzeroBitCount }
        var slots: [UInt64] = []
        let consistent = try withArrayBytes(of: UInt64.self) { n, bytes in
            guard n == occupied, n <= capacity else { return false }
            guard capacity > 0 else { return true }
            var empty = false
            slots = [UInt64](unsafeUninitializedCapacity: capacity) { s, initialized in
                s.initialize(repeating: 0)
                var next = 0
                for (w, word) in occupancy.enumerated() {
                    var bits = word
                    while bits != 0 {
                        let slot = bytes.loadUnaligned(fromByteOffset: next << 3, as: UInt64.self)
                        if slot == 0 { empty = true }
                        s[w << 6 | bits.trailingZeroBitCount] = slot
                        next += 1
                        bits &= bits - 1
                    }
                }
                initialized = capacity
            }
            return !empty
        }
        guard consistent else { throw SnapshotError(damaged()) }
        return (slots, occupied)
    }

    /// As ``readArrays(of:)``, handing each array to `body` in order instead of keeping them all.
    public mutating func readArrays<T: BitwiseCopyable>(of type: T.Type = T.self, each body: ([T]) -> Void) throws(SnapshotError) {
        let n = try readCount(minimumSize: 4)
        let lengths: [UInt32] = try copyElements(n)
        for length in lengths { body(try copyElements(Int(length))) }
    }

    public mutating func readArrays<T: BitwiseCopyable>(of type: T.Type = T.self) throws(SnapshotError) -> [[T]] {
        let n = try readCount(minimumSize: 4)
        let lengths: [UInt32] = try copyElements(n)
        var result: [[T]] = []
        result.reserveCapacity(n)
        for length in lengths { result.append(try copyElements(Int(length))) }
        return result
    }

    public mutating func readString() throws(SnapshotError) -> String {
        let n = try readCount(minimumSize: 1)
        let from = try take(n)
        return String(decoding: buffer[from..<(from + n)], as: UTF8.self)
    }

    public mutating func readStrings() throws(SnapshotError) -> [String] {
        let n = try readCount(minimumSize: 8)
        var result: [String] = []
        result.reserveCapacity(n)
        for _ in 0..<n { result.append(try readString()) }
        return result
    }

    public mutating func readPart<T: SnapshotCodable>(_ type: T.Type = T.self) throws(SnapshotError) -> T {
        try T(from: &self)
    }

    public mutating func readOptionalPart<T: SnapshotCodable>(_ type: T.Type = T.self) throws(SnapshotError) -> T? {
        try readBool() ? try T(from: &self) : nil
    }

    public mutating func readParts<T: SnapshotCodable>(_ type: T.Type = T.self) throws(SnapshotError) -> [T] {
        let n = try readCount(minimumSize: 1)
        var result: [T] = []
        result.reserveCapacity(n)
        for _ in 0..<n { result.append(try T(from: &self)) }
        return result
    }
}

/// A snapshot that cannot be read: truncated, damaged, of an unknown format version, or
/// taken under other parameters. The description says what to do.
public struct SnapshotError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
