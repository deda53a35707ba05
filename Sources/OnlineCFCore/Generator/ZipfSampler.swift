/// Samples ranks 0..<n with probability proportional to 1 / (rank + 1)^exponent, using a
/// precomputed cumulative table and binary search (O(n) memory, O(log n) per sample).
///
/// Guarantee: deterministic given the random source; exponent 0 is uniform.
public struct ZipfSampler: Sendable {
    /// Number of ranks.
    public let count: Int
    private let cumulative: [Double]

    /// - Precondition: `count >= 1`, `exponent >= 0` and finite.
    public init(count: Int, exponent: Double) {
        precondition(count >= 1, "ZipfSampler needs at least one rank")
        precondition(exponent >= 0 && exponent.isFinite, "Zipf exponent must be finite and >= 0")
        self.count = count
        var table = [Double](repeating: 0, count: count)
        var total = 0.0
        for k in 0..<count {
            total += exponent == 0 ? 1 : PortableMath.pow(Double(k + 1), -exponent)
            table[k] = total
        }
        // Normalise so the last entry is exactly 1.
        for k in 0..<count { table[k] /= total }
        table[count - 1] = 1
        cumulative = table
    }

    /// Probability of `rank`.
    public func probability(ofRank rank: Int) -> Double {
        rank == 0 ? cumulative[0] : cumulative[rank] - cumulative[rank - 1]
    }

    /// A rank in 0..<count.
    @inline(__always)
    public func sample(_ rng: inout Xoshiro256StarStar) -> Int {
        let u = rng.nextUnitDouble()
        return cumulative.withUnsafeBufferPointer { c in
            // First index with c[index] > u.
            var lo = 0
            var hi = count - 1
            while lo < hi {
                let mid = (lo + hi) >> 1
                if c[mid] > u { hi = mid } else { lo = mid + 1 }
            }
            return lo
        }
    }
}
