#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Each user's most recent distinct items with their decayed, action-weighted sums: the
/// "recent" seeds of u2i2i recall.
///
/// For user `u` and item `i`, the weight at time `now` is
/// `Σ_e weight(action_e) · 2^(−(now − t_e) / halfLife)` over `u`'s events `e` on `i`
/// (no decay without a half-life). It is kept exactly as (value, time): a new event at
/// `t` makes the value `value · 2^(−(t − time)/halfLife) + w` (or adds
/// `w · 2^(−(time − t)/halfLife)` for an event older than `time`), so no stored value is
/// ever rewritten as time passes.
///
/// Guarantees: at most `capacity` items per user (0 = no limit); when a new item exceeds
/// it, the item with the oldest latest event is forgotten (ties: the earliest recorded).
/// Deterministic: the same events in the same order give the same state. Events without
/// a timestamp happen at the latest event time seen so far (the watermark).
public struct RecentInteractions: Sendable {
    public struct Entry: Sendable, Equatable, BitwiseCopyable {
        public var item: UInt32
        /// The decayed sum as of `atMillis`.
        public var value: Double
        public var atMillis: Int64
    }

    public let capacity: Int
    public let halfLifeMillis: Int64?
    public private(set) var perUser: [[Entry]] = []
    /// The latest event time seen (0 before the first timestamped event).
    public private(set) var watermarkMillis: Int64 = 0
    /// Users with an event since the last ``clearChanges()``.
    public private(set) var changed = DirtySet()

    public init(capacity: Int, halfLifeMillis: Int64?) {
        precondition(capacity >= 0 && (halfLifeMillis ?? 1) > 0)
        self.capacity = capacity
        self.halfLifeMillis = halfLifeMillis
    }

    /// `2^(−Δ/halfLife)` for `Δ ≥ 0`.
    @inline(__always)
    public func decay(_ elapsedMillis: Int64) -> Double {
        guard let h = halfLifeMillis, elapsedMillis != 0 else { return 1 }
        return exp2(-Double(elapsedMillis) / Double(h))
    }

    public mutating func record(user: UInt32, item: UInt32, weight: Double, atMillis: Int64?) {
        if let t = atMillis, t > watermarkMillis { watermarkMillis = t }
        let t = atMillis ?? watermarkMillis
        let u = Int(user)
        if u >= perUser.count { perUser.append(contentsOf: repeatElement([], count: u + 1 - perUser.count)) }
        changed.insert(user)
        if let p = perUser[u].firstIndex(where: { $0.item == item }) {
            var e = perUser[u][p]
            if t >= e.atMillis {
                e.value = e.value * decay(t - e.atMillis) + weight
                e.atMillis = t
            } else {
                e.value += weight * decay(e.atMillis - t)
            }
            perUser[u][p] = e
            return
        }
        perUser[u].append(Entry(item: item, value: weight, atMillis: t))
        if capacity > 0 && perUser[u].count > capacity {
            var oldest = 0
            for (p, e) in perUser[u].enumerated() where e.atMillis < perUser[u][oldest].atMillis { oldest = p }
            perUser[u].remove(at: oldest)
        }
    }

    /// The user's items with their weights at `nowMillis` (in recording order).
    public func seeds(of user: UInt32, nowMillis: Int64) -> [RecallSeed] {
        guard Int(user) < perUser.count else { return [] }
        return perUser[Int(user)].map { e in
            RecallSeed(item: e.item, weight: e.value * decay(max(0, nowMillis - e.atMillis)))
        }
    }

    public func items(of user: UInt32) -> [UInt32] {
        Int(user) < perUser.count ? perUser[Int(user)].map(\.item) : []
    }

    /// TTL expiry: forgets every recent item of a user.
    public mutating func removeUser(_ user: UInt32) {
        guard Int(user) < perUser.count, !perUser[Int(user)].isEmpty else { return }
        perUser[Int(user)] = []
        changed.insert(user)
    }

    /// TTL expiry: forgets an item among a user's recent items.
    public mutating func removeItem(_ item: UInt32, of user: UInt32) {
        guard Int(user) < perUser.count, let p = perUser[Int(user)].firstIndex(where: { $0.item == item }) else { return }
        perUser[Int(user)].remove(at: p)
        changed.insert(user)
    }

    /// Users holding `item` are not indexed; this marks every user with any item.
    public mutating func markAllChanged() {
        for u in perUser.indices where !perUser[u].isEmpty { changed.insert(UInt32(u)) }
    }

    public mutating func clearChanges() { changed.removeAll() }
}

extension RecentInteractions {
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(arrays: perUser)
        encoder.write(value: watermarkMillis)
        encoder.write(part: changed)
    }

    public init(from decoder: inout SnapshotDecoder, capacity: Int, halfLifeMillis: Int64?) throws(SnapshotError) {
        self.init(capacity: capacity, halfLifeMillis: halfLifeMillis)
        perUser = try decoder.readArrays()
        watermarkMillis = try decoder.read()
        changed = try decoder.readPart()
    }
}
