/// Exact percentiles of weighted samples (a latency shared by `weight` events counts
/// `weight` times). Used for freshness: the time from reading an event to its lists
/// being written.
public struct WeightedPercentiles: Sendable {
    private var samples: [(value: Double, weight: Int)] = []
    public private(set) var totalWeight = 0

    public init() {}

    public mutating func record(_ value: Double, weight: Int = 1) {
        guard weight > 0 else { return }
        samples.append((value, weight))
        totalWeight += weight
    }

    /// The smallest recorded value v such that at least `p` (0…1) of the weight is ≤ v;
    /// nil when nothing was recorded.
    public func percentile(_ p: Double) -> Double? {
        guard totalWeight > 0 else { return nil }
        let sorted = samples.sorted { $0.value < $1.value }
        let target = max(1, Int((p * Double(totalWeight)).rounded(.up)))
        var seen = 0
        for s in sorted {
            seen += s.weight
            if seen >= target { return s.value }
        }
        return sorted.last?.value
    }
}
