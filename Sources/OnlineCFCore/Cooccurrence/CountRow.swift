/// A compact map from neighbour index to a count: one co-occurrence row.
///
/// Open addressing with linear probing over a single `[UInt64]` (key + 1 in the high
/// half, count in the low half), so a row costs about 11 bytes per neighbour and no
/// allocation per neighbour. Guarantees: `value(of:)` is exact; iteration visits each
/// neighbour with a non-zero count exactly once, in no particular order.
public struct CountRow: Sendable {
    private var slots: [UInt64] = []
    /// Number of neighbours with a non-zero count.
    public private(set) var count: Int = 0

    public init() {}

    @inline(__always)
    static func hash(_ key: UInt32, mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Adds `amount` to the count of `key`.

    public mutating func increment(_ key: UInt32, by amount: UInt32 = 1) {
        if (count + 1) * 10 > slots.count * 7 { grow() }
        let tag = UInt64(key) &+ 1
        let mask = slots.count - 1
        var i = CountRow.hash(key, mask: mask)
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
                i = (i + 1) & mask
            }
        }
    }

    /// The count of `key` (0 when absent).

    public func value(of key: UInt32) -> UInt32 {
        if slots.isEmpty { return 0 }
        let tag = UInt64(key) &+ 1
        let mask = slots.count - 1
        var i = CountRow.hash(key, mask: mask)
        while true {
            let slot = slots[i]
            if slot == 0 { return 0 }
            if slot >> 32 == tag { return UInt32(truncatingIfNeeded: slot) }
            i = (i + 1) & mask
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


    mutating func grow() {
        let old = slots
        let capacity = Swift.max(8, old.count * 2)
        slots = [UInt64](repeating: 0, count: capacity)
        count = 0
        let mask = capacity - 1
        slots.withUnsafeMutableBufferPointer { s in
            for slot in old where slot != 0 {
                var i = CountRow.hash(UInt32(truncatingIfNeeded: (slot >> 32) &- 1), mask: mask)
                while s[i] != 0 { i = (i + 1) & mask }
                s[i] = slot
                count += 1
            }
        }
    }
}
