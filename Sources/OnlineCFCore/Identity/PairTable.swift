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
        slots.insertAbsent(key)
        return true
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult
    public mutating func remove(_ key: UInt64) -> Bool {
        guard let slot = slots.find(key) else { return false }
        slots.remove(at: slot)
        if slots.needsShrinking { slots.rehash(capacity: slots.capacity(for: slots.count)) }
        return true
    }

    /// Calls `body` with every key.
    public func forEach(_ body: (UInt64) -> Void) { for stored in slots.keys where stored != 0 { body(~stored) } }
}

/// The table of ``PairSet``.
struct PairSlots: Sendable {
    /// `~key` per slot; 0 is an empty slot. Empty or a power of two long.
    private(set) var keys: [UInt64] = []
    private(set) var count = 0
    /// 64 − log2(table size).
    private var shift: UInt64 = 64

    init() {}

    /// A table read back as it was written (`keys` empty or a power of two long).
    init(keys: [UInt64], count: Int) {
        self.keys = keys
        self.count = count
        shift = keys.isEmpty ? 64 : UInt64(64 - keys.count.trailingZeroBitCount)
    }

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

    /// Linear probing stays cheap up to 7/8 full: a probe run is a few adjacent cache
    /// lines. The pair sets are the largest state every worker of a shared job keeps.
    func needsGrowth(adding n: Int) -> Bool { (count + n) * 8 > keys.count * 7 }
    var needsShrinking: Bool { keys.count > 64 && count * 8 < keys.count }

    /// The table size for `n` keys: a power of two at least 64 that holds them at most 3/8 full
    /// (so that it can neither grow nor shrink again soon).
    func capacity(for n: Int) -> Int {
        var size = 64
        while n * 8 > size * 3 { size *= 2 }
        return size
    }

    /// Places a key known to be absent, doubling the table first when it is 7/8 full (so
    /// it is then 7/16 full).
    mutating func insertAbsent(_ key: UInt64) {
        if needsGrowth(adding: 1) { rehash(capacity: keys.isEmpty ? 64 : keys.count * 2) }
        let stored = ~key, mask = keys.count - 1
        var i = home(stored)
        keys.withUnsafeMutableBufferPointer { k in
            while k[i] != 0 { i = (i + 1) & mask }
            k[i] = stored
        }
        count += 1
    }

    /// Empties `slot`, shifting back the keys of its probe run that may move.
    mutating func remove(at slot: Int) {
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
                hole = j
            }
        }
        keys[hole] = 0
        count -= 1
    }

    /// Rebuilds the table with `capacity` slots (a power of two).
    mutating func rehash(capacity: Int) {
        let old = keys
        keys = [UInt64](repeating: 0, count: capacity)
        let shift = UInt64(64 - capacity.trailingZeroBitCount), mask = capacity - 1
        self.shift = shift
        keys.withUnsafeMutableBufferPointer { k in
            for stored in old where stored != 0 {
                var i = Self.home(stored, shift: shift)
                while k[i] != 0 { i = (i + 1) & mask }
                k[i] = stored
            }
        }
    }
}

extension PairSet: SnapshotCodable {
    /// The table as it is (``SnapshotEncoder/write(slotTable:occupied:)``): a restore puts
    /// every key back in its slot without hashing.
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(slotTable: slots.keys, occupied: slots.count)
    }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let damaged = "a pair set of the snapshot is inconsistent: the snapshot is damaged"
        let (keys, count) = try decoder.readSlotTable(damaged: damaged)
        // A table of this type: empty, or a power of two of at least 64 slots, at most 7/8 full.
        guard keys.isEmpty || (keys.count >= 64 && keys.count.nonzeroBitCount == 1 && count * 8 <= keys.count * 7) else {
            throw SnapshotError(damaged)
        }
        slots = PairSlots(keys: keys, count: count)
    }
}
