/// A set of id pairs packed in a `UInt64` (`first << 32 | second`), as a flat hash table
/// whose layout is the same in every process, so that a snapshot stores the table as it
/// is and a restore puts every key back in its slot without hashing.
///
/// Open addressing with linear probing over one `[UInt64]` (a key is stored inverted, so
/// 0 marks an empty slot and every pair of 32-bit indexes but (max, max) can be held),
/// a fixed multiply-shift hash onto a power-of-two table, backward-shift deletion (no
/// tombstones). The table is filled up to 75 %, doubles as it fills and halves when it
/// falls under 1/8 full, so its memory follows the number of pairs down as well as up.
/// Guarantees: membership is exact; iteration visits each key once, in no particular
/// order; the same operations in the same order give the same table.
public struct PairSet: Sendable {
    fileprivate var slots = PairSlots()

    public init() {}

    /// Number of pairs held.
    public var count: Int { slots.count }

    public func contains(_ key: UInt64) -> Bool { slots.find(key) != nil }

    /// Adds `key`; returns whether it was absent.
    @discardableResult
    public mutating func insert(_ key: UInt64) -> Bool {
        guard slots.find(key) == nil else { return false }
        _ = slots.insertAbsent(key, move: { _, _ in })
        return true
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult
    public mutating func remove(_ key: UInt64) -> Bool {
        guard let slot = slots.find(key) else { return false }
        slots.remove(at: slot, move: { _, _ in })
        slots.shrinkIfNeeded(move: { _, _ in })
        return true
    }

    /// Calls `body` with every key.
    public func forEach(_ body: (UInt64) -> Void) { slots.forEachOccupied { _, key in body(key) } }
}

/// The table of ``PairSet``: keys only (`move(from, to)` reports where a key moves, for
/// tables that keep values beside their keys).
struct PairSlots: Sendable {
    /// `~key` per slot; 0 is an empty slot. Empty or a power of two long.
    private(set) var keys: [UInt64] = []
    private(set) var count = 0
    /// 64 − log2(table size).
    private var shift: UInt64 = 64

    var tableSize: Int { keys.count }

    @inline(__always)
    private func home(_ stored: UInt64) -> Int { Self.home(stored, shift: shift) }

    @inline(__always)
    private static func home(_ stored: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (stored &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    func find(_ key: UInt64) -> Int? {
        guard count > 0 else { return nil }
        let stored = ~key, mask = keys.count - 1
        return keys.withUnsafeBufferPointer { k in
            var i = home(stored)
            while true {
                let s = k[i]
                if s == stored { return i }
                if s == 0 { return nil }
                i = (i + 1) & mask
            }
        }
    }

    func needsGrowth(adding n: Int) -> Bool { (count + n) * 4 > keys.count * 3 }
    var needsShrinking: Bool { keys.count > 64 && count * 8 < keys.count }

    /// The table size for `n` keys: a power of two at least 64 that holds them at most 3/8 full
    /// (so that it can neither grow nor shrink again soon).
    func capacity(for n: Int) -> Int {
        var size = 64
        while n * 8 > size * 3 { size *= 2 }
        return size
    }

    mutating func shrinkIfNeeded(move: (Int, Int) -> Void) {
        if needsShrinking { rehash(capacity: capacity(for: count), move: move) }
    }

    /// Places a key known to be absent (the table must have room); returns its slot.
    mutating func insertAbsent(_ key: UInt64, move: (Int, Int) -> Void) -> Int {
        if needsGrowth(adding: 1) { rehash(capacity: capacity(for: count + 1), move: move) }
        let stored = ~key, mask = keys.count - 1
        var i = home(stored)
        keys.withUnsafeMutableBufferPointer { k in
            while k[i] != 0 { i = (i + 1) & mask }
            k[i] = stored
        }
        count += 1
        return i
    }

    /// Empties `slot`, shifting back the keys of its probe run that may move.
    mutating func remove(at slot: Int, move: (Int, Int) -> Void) {
        let mask = keys.count - 1
        var hole = slot, j = slot
        while true {
            j = (j + 1) & mask
            let s = keys[j]
            if s == 0 { break }
            let h = home(s)
            // The key at j may fill the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !stays {
                keys[hole] = s
                move(j, hole)
                hole = j
            }
        }
        keys[hole] = 0
        count -= 1
    }

    /// Rebuilds the table with `capacity` slots (a power of two).
    mutating func rehash(capacity: Int, move: (Int, Int) -> Void) {
        let old = keys
        keys = [UInt64](repeating: 0, count: capacity)
        let shift = UInt64(64 - capacity.trailingZeroBitCount), mask = capacity - 1
        self.shift = shift
        keys.withUnsafeMutableBufferPointer { k in
            for (from, stored) in old.enumerated() where stored != 0 {
                var i = Self.home(stored, shift: shift)
                while k[i] != 0 { i = (i + 1) & mask }
                k[i] = stored
                move(from, i)
            }
        }
    }

    func forEachOccupied(_ body: (Int, UInt64) -> Void) {
        for (slot, stored) in keys.enumerated() where stored != 0 { body(slot, ~stored) }
    }
}

extension PairSlots {
    /// The table size, a bitmap of its occupied slots, then those slots' keys in order.
    func encode(to encoder: inout SnapshotEncoder) -> [Int] {
        encoder.write(int: keys.count)
        var occupancy = [UInt64](repeating: 0, count: (keys.count + 63) / 64)
        var occupied: [UInt64] = [], slots: [Int] = []
        occupied.reserveCapacity(count)
        slots.reserveCapacity(count)
        for (i, stored) in keys.enumerated() where stored != 0 {
            occupancy[i >> 6] |= 1 << UInt64(i & 63)
            occupied.append(stored)
            slots.append(i)
        }
        encoder.write(array: occupancy)
        encoder.write(array: occupied)
        return slots
    }

    /// Reads ``encode(to:)``'s table back into the same slots; returns the occupied slots
    /// in order.
    init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let size = try decoder.readInt()
        let occupancy: [UInt64] = try decoder.readArray()
        guard size == 0 || (size >= 64 && size.nonzeroBitCount == 1), occupancy.count == size / 64 else {
            throw SnapshotError("a pair table of the snapshot is inconsistent: the snapshot is damaged")
        }
        let occupied = occupancy.reduce(0) { $0 + $1.nonzeroBitCount }
        // The keys go from the decoder's buffer straight to their slots.
        var keys: [UInt64] = []
        let consistent = try decoder.withArrayBytes(of: UInt64.self) { n, bytes in
            guard n == occupied, n * 4 <= size * 3 else { return false }
            guard size > 0 else { return true }
            var empty = false
            keys = [UInt64](unsafeUninitializedCapacity: size) { k, initialized in
                k.initialize(repeating: 0)
                var next = 0
                for (w, word) in occupancy.enumerated() {
                    var bits = word
                    while bits != 0 {
                        let stored = bytes.loadUnaligned(fromByteOffset: next << 3, as: UInt64.self)
                        if stored == 0 { empty = true }
                        k[w << 6 | bits.trailingZeroBitCount] = stored
                        next += 1
                        bits &= bits - 1
                    }
                }
                initialized = size
            }
            return !empty
        }
        guard consistent else { throw SnapshotError("a pair table of the snapshot is inconsistent: the snapshot is damaged") }
        self.keys = keys
        count = occupied
        shift = size == 0 ? 64 : UInt64(64 - size.trailingZeroBitCount)
    }
}

extension PairSet: SnapshotCodable {
    public func encode(to encoder: inout SnapshotEncoder) { _ = slots.encode(to: &encoder) }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        slots = try PairSlots(from: &decoder)
    }
}
