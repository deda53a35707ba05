/// What is popular now: items ranked by how many users took them up lately, for the
/// fallback of u2i2i recall (a user with too few or no seeds).
///
/// Each new (user, item) pair at event time `t` adds `2^(−(now − t) / halfLife)` to the
/// item's count, so the count is the number of distinct users who took the item up,
/// each weighed by how long ago (a window with a half-life). It is kept in forward form
/// (``ForwardDecay``): stored values never change as time passes, so the count is exact
/// and incremental, and replaying the same pairs rebuilds it. `now` is the latest event
/// time applied. An item that expires (TTL) loses its count.
public struct PopularItems: Sendable {
    public let parameters: PopularParameters
    private var decay: ForwardDecay
    /// Each item's count in forward form (times `2^((L − t)/halfLife)` at landmark `L`).
    private var values: [Double] = []
    /// The latest event time added.
    public private(set) var nowMillis: Int64 = .min
    /// Whether a count changed since ``clearChanges()``.
    public private(set) var changed = false

    public init(parameters: PopularParameters) {
        self.parameters = parameters
        decay = ForwardDecay(halfLifeMillis: parameters.halfLifeMillis)
    }

    /// Counts a new (user, item) pair at event time `t`.
    public mutating func add(item: UInt32, atMillis t: Int64) {
        let i = Int(item)
        if i >= values.count { values.append(contentsOf: repeatElement(0, count: i + 1 - values.count)) }
        if let factor = decay.rescaleFactor(for: t) {
            for k in values.indices { values[k] *= factor }
        }
        values[i] += decay.growth(at: t)
        nowMillis = max(nowMillis, t)
        changed = true
    }

    /// TTL expiry of an item: its count leaves.
    public mutating func remove(item: UInt32) {
        guard Int(item) < values.count, values[Int(item)] != 0 else { return }
        values[Int(item)] = 0
        changed = true
    }

    /// The ``PopularParameters/count`` items with the highest counts as of the latest
    /// event time (ties by item id), leaving out `excluded` items.
    public func top(names: [String], sortKeys: [UInt64], excluded: (UInt32) -> Bool) -> [ScoredNeighbor] {
        var selector = TopKSelector(k: parameters.count, names: names, sortKeys: sortKeys)
        let factor = nowMillis == .min ? 1 : decay.factor(at: nowMillis)
        for (i, v) in values.enumerated() where v > 0 && !excluded(UInt32(i)) {
            selector.offer(UInt32(i), score: v * factor)
        }
        return selector.take()
    }

    public mutating func clearChanges() { changed = false }
    /// Marks the list changed (its exclusions changed).
    public mutating func markChanged() { changed = true }
}

/// The `popular` list's settings (see ``PopularItems``).
public struct PopularParameters: Sendable, Hashable {
    /// Half-life of a pair's weight in the count, event time (default one day).
    public var halfLifeMillis: Int64 = 86_400_000
    /// Items in the list (default 200: enough to pad a 50-item recall after the user's
    /// own items are left out).
    public var count: Int = 200

    public init() {}

    public var fingerprint: String { "halfLife=\(halfLifeMillis),n=\(count)" }
}

extension PopularItems {
    public func encode(to encoder: inout SnapshotEncoder) {
        decay.encode(to: &encoder)
        encoder.write(array: values)
        encoder.write(value: nowMillis)
        encoder.write(bool: changed)
    }

    public init(from decoder: inout SnapshotDecoder, parameters: PopularParameters) throws(SnapshotError) {
        self.init(parameters: parameters)
        decay = try ForwardDecay(from: &decoder, halfLifeMillis: parameters.halfLifeMillis)
        values = try decoder.readArray()
        nowMillis = try decoder.read()
        changed = try decoder.readBool()
    }
}
