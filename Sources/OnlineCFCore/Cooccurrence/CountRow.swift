/// A compact map from neighbour index to a count: one co-occurrence row.
///
/// Open addressing with linear probing over a single `[UInt64]` (key + 1 in the high
/// half, count in the low half). The table is filled up to 80 % and grows by half, so a
/// row costs about 12 bytes per neighbour on average and no allocation per neighbour.
/// Guarantees: `value(of:)` is exact; iteration visits each neighbour with a non-zero
/// count exactly once, in no particular order.
public struct CountRow: Sendable {
    private var slots: [UInt64] = []
    /// Number of neighbours with a non-zero count.
    public private(set) var count: Int = 0

    public init() {}

    /// The home slot of `key` in a table of `capacity` slots (multiply-shift onto any size).
    @inline(__always)
    static func home(_ key: UInt32, capacity: Int) -> Int {
        let h = (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32
        return Int(truncatingIfNeeded: (h &* UInt64(capacity)) >> 32)
    }

    /// Adds `amount` to the count of `key`.
    public mutating func increment(_ key: UInt32, by amount: UInt32 = 1) {
        if (count + 1) * 10 > slots.count * 8 { grow() }
        let tag = UInt64(key) &+ 1
        let capacity = slots.count
        var i = CountRow.home(key, capacity: capacity)
        slots.withUnsafeMutableBufferPointer { s in
            while true {
                let slot = s[i]
                if slot == 0 {
                    s[i] = (tag << 32) | UInt64(amount)
                    count += 1
                    return
                }
                if slot >> 32 == tag {
                    s[i] = slot &+ UInt64(amount)
                    return
                }
                i += 1
                if i == capacity { i = 0 }
            }
        }
    }

    /// The count of `key` (0 when absent).
    public func value(of key: UInt32) -> UInt32 {
        if slots.isEmpty { return 0 }
        let tag = UInt64(key) &+ 1
        let capacity = slots.count
        var i = CountRow.home(key, capacity: capacity)
        while true {
            let slot = slots[i]
            if slot == 0 { return 0 }
            if slot >> 32 == tag { return UInt32(truncatingIfNeeded: slot) }
            i += 1
            if i == capacity { i = 0 }
        }
    }

    /// Calls `body` with every (neighbour, count).
    public func forEach(_ body: (UInt32, UInt32) throws -> Void) rethrows {
        try slots.withUnsafeBufferPointer { s in
            for slot in s where slot != 0 {
                try body(UInt32(truncatingIfNeeded: (slot >> 32) &- 1), UInt32(truncatingIfNeeded: slot))
            }
        }
    }

    /// Subtracts 1 from the count of `key`, which must be present; a count reaching 0
    /// leaves the row (backward-shift deletion, no tombstones), and a row left at under
    /// a quarter of its table shrinks, so memory follows the neighbours it holds.
    public mutating func decrement(_ key: UInt32) {
        let tag = UInt64(key) &+ 1
        let capacity = slots.count
        precondition(capacity > 0, "decrement of a key absent from the row")
        var i = CountRow.home(key, capacity: capacity)
        slots.withUnsafeMutableBufferPointer { s in
            while s[i] >> 32 != tag {
                precondition(s[i] != 0, "decrement of a key absent from the row")
                i += 1
                if i == capacity { i = 0 }
            }
            if UInt32(truncatingIfNeeded: s[i]) > 1 {
                s[i] -= 1
                return
            }
            // Remove slot i: pull later entries of the probe run back into the hole unless
            // their home lies cyclically in (hole, j].
            var hole = i, j = i
            while true {
                j += 1
                if j == capacity { j = 0 }
                let slot = s[j]
                if slot == 0 { break }
                let h = CountRow.home(UInt32(truncatingIfNeeded: (slot >> 32) &- 1), capacity: capacity)
                let staysPut = hole <= j ? (hole < h && h <= j) : (h > hole || h <= j)
                if !staysPut {
                    s[hole] = slot
                    hole = j
                }
            }
            s[hole] = 0
            count -= 1
        }
        if count == 0 {
            slots = []
        } else if slots.count > 16 && count * 4 < slots.count {
            resize(to: count * 2)
        }
    }

    private mutating func grow() {
        resize(to: Swift.max(4, slots.count + slots.count / 2))
    }

    private mutating func resize(to capacity: Int) {
        let old = slots
        slots = [UInt64](repeating: 0, count: capacity)
        slots.withUnsafeMutableBufferPointer { s in
            for slot in old where slot != 0 {
                var i = CountRow.home(UInt32(truncatingIfNeeded: (slot >> 32) &- 1), capacity: capacity)
                while s[i] != 0 { i += 1; if i == capacity { i = 0 } }
                s[i] = slot
            }
        }
    }
}

extension CountRow: SnapshotCodable {
    /// The table as it is (``SnapshotEncoder/write(slotTable:occupied:)``).
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(slotTable: slots, occupied: count)
    }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        (slots, count) = try decoder.readSlotTable(damaged: "a co-occurrence row of the snapshot is inconsistent: the snapshot is damaged")
    }
}
