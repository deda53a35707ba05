/// A map from neighbour index to a `Double` score: one Swing row.
///
/// Open addressing with linear probing over parallel key (index + 1, 0 = empty) and value
/// arrays. Guarantees: `add` is exact in `Double` arithmetic; iteration visits each
/// neighbour once, in no particular order.
public struct WeightRow: Sendable {
    private var keys: [UInt32] = []
    private var values: [Double] = []
    public private(set) var count = 0

    public init() {}

    /// A row holding exactly `entries`.
    public init(_ entries: [(neighbour: UInt32, score: Double)]) {
        for (k, v) in entries { add(k, v) }
    }

    @inline(__always)
    private static func hash(_ key: UInt32, mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    public mutating func add(_ key: UInt32, _ amount: Double) {
        let i = slot(key)
        values[i] += amount
    }

    /// Adds `amount`; a result within `1e-12` of cancelling out (relative to the larger of
    /// the old value and `amount`) becomes exactly 0, so a removed contribution leaves no
    /// residue of rounding behind.
    public mutating func addSnappingToZero(_ key: UInt32, _ amount: Double) {
        let i = slot(key)
        let old = values[i], new = old + amount
        values[i] = abs(new) <= 1e-12 * Swift.max(abs(old), abs(amount)) ? 0 : new
    }

    /// The position of `key`, inserted with value 0 when absent.
    @inline(__always)
    private mutating func slot(_ key: UInt32) -> Int {
        if (count + 1) * 10 > keys.count * 7 { grow() }
        let tag = key &+ 1, mask = keys.count - 1
        var i = Self.hash(key, mask: mask)
        while true {
            let k = keys[i]
            if k == 0 { keys[i] = tag; values[i] = 0; count += 1; return i }
            if k == tag { return i }
            i = (i + 1) & mask
        }
    }

    /// Removes `key` (no-op when absent), keeping every other entry reachable (backward
    /// shift deletion), so a removed neighbour costs no memory.
    public mutating func remove(_ key: UInt32) {
        guard !keys.isEmpty else { return }
        let tag = key &+ 1, mask = keys.count - 1
        var i = Self.hash(key, mask: mask)
        while keys[i] != tag {
            if keys[i] == 0 { return }
            i = (i + 1) & mask
        }
        var hole = i, j = (i + 1) & mask
        while keys[j] != 0 {
            let home = Self.hash(keys[j] &- 1, mask: mask)
            if (j &- home) & mask >= (j &- hole) & mask {
                keys[hole] = keys[j]; values[hole] = values[j]; hole = j
            }
            j = (j + 1) & mask
        }
        keys[hole] = 0; values[hole] = 0
        count -= 1
    }

    /// Multiplies every value by `factor`.
    public mutating func scale(by factor: Double) {
        for i in values.indices { values[i] *= factor }
    }

    public func value(of key: UInt32) -> Double {
        if keys.isEmpty { return 0 }
        let tag = key &+ 1, mask = keys.count - 1
        var i = Self.hash(key, mask: mask)
        while true {
            let k = keys[i]
            if k == 0 { return 0 }
            if k == tag { return values[i] }
            i = (i + 1) & mask
        }
    }

    public func forEach(_ body: (UInt32, Double) throws -> Void) rethrows {
        for i in keys.indices where keys[i] != 0 { try body(keys[i] &- 1, values[i]) }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        let capacity = Swift.max(8, oldKeys.count * 2)
        keys = [UInt32](repeating: 0, count: capacity)
        values = [Double](repeating: 0, count: capacity)
        count = 0
        let mask = capacity - 1
        for i in oldKeys.indices where oldKeys[i] != 0 {
            var p = Self.hash(oldKeys[i] &- 1, mask: mask)
            while keys[p] != 0 { p = (p + 1) & mask }
            keys[p] = oldKeys[i]; values[p] = oldValues[i]; count += 1
        }
    }
}

extension WeightRow: SnapshotCodable {
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(array: keys)
        encoder.write(array: values)
        encoder.write(int: count)
    }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        keys = try decoder.readArray()
        values = try decoder.readArray()
        count = try decoder.readInt()
        guard keys.count == values.count, count <= keys.count else { throw SnapshotError("a weighted row of the snapshot is inconsistent (\(keys.count) keys, \(values.count) values, \(count) entries): it is damaged") }
    }
}
