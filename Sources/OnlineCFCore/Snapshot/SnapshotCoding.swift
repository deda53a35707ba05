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
/// The layout is the snapshot format: changing what a part writes, or its order, is a
/// new ``CFModel/snapshotFormatVersion``.
public struct SnapshotEncoder: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func write<T: BitwiseCopyable>(value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(bool: Bool) { bytes.append(bool ? 1 : 0) }

    public mutating func write(int: Int) { write(value: Int64(int)) }

    /// The elements' bytes in one copy.
    public mutating func write<T: BitwiseCopyable>(array: [T]) {
        write(int: array.count)
        array.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// The lengths first, then every element of every array.
    public mutating func write<T: BitwiseCopyable>(arrays: [[T]]) {
        write(int: arrays.count)
        for a in arrays { write(value: UInt32(a.count)) }
        for a in arrays { a.withUnsafeBytes { bytes.append(contentsOf: $0) } }
    }

    public mutating func write(string: String) {
        var s = string
        s.withUTF8 { utf8 in
            write(int: utf8.count)
            bytes.append(contentsOf: utf8)
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
}

/// Reads what a ``SnapshotEncoder`` wrote, in the same order. Every read is bounds-checked:
/// a truncated or damaged snapshot throws ``SnapshotError`` instead of trapping.
public struct SnapshotDecoder {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws(SnapshotError) -> Int {
        guard count >= 0, count <= bytes.count - offset else {
            throw SnapshotError("the snapshot ends early (reading \(count) bytes at offset \(offset) of \(bytes.count)): it is truncated or damaged")
        }
        defer { offset += count }
        return offset
    }

    public mutating func read<T: BitwiseCopyable>(_ type: T.Type = T.self) throws(SnapshotError) -> T {
        let at = try take(MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) }
    }

    public mutating func readBool() throws(SnapshotError) -> Bool {
        let at = try take(1)
        switch bytes[at] {
        case 0: return false
        case 1: return true
        default: throw SnapshotError("a flag in the snapshot at offset \(at) is \(bytes[at]), not 0 or 1: the snapshot is damaged")
        }
    }

    public mutating func readInt() throws(SnapshotError) -> Int {
        let v: Int64 = try read()
        return Int(v)
    }

    /// A count that cannot exceed what is left, at `minimumSize` bytes per element.
    private mutating func readCount(minimumSize: Int) throws(SnapshotError) -> Int {
        let n = try readInt()
        guard n >= 0, n <= (bytes.count - offset) / Swift.max(minimumSize, 1) else {
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
        let at = try take(size)
        guard n > 0 else { return [] }
        return [T](unsafeUninitializedCapacity: n) { buffer, count in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[at..<(at + size)]))
            }
            count = n
        }
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
        let at = try take(n)
        return String(decoding: bytes[at..<(at + n)], as: UTF8.self)
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
