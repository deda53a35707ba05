import Dispatch
import Synchronization

/// When a query sees the user's own behaviour (the seeds of u2i2i, the last item of i2i).
public enum SeedTiming: String, Sendable, Codable, CaseIterable {
    /// As of the last refresh, like the lists (a stored u2i2i list, rewritten per refresh).
    case refresh
    /// Up to the event before the query, while the i2i lists stay as of the last refresh
    /// (a serving tier that reads the user's real-time behaviour and stored i2i lists).
    case live
}

/// What a replay evaluation measures (see ``ReplayEvaluator``).
public struct ReplayConfiguration: Sendable {
    /// The i2i algorithms evaluated, each through both channels.
    public var algorithms: [Algorithm]
    /// Blends of i2i algorithms evaluated after them, each through both channels (i2i:
    /// the blend composed from the last item alone), scaled as `recall.blendScale` says.
    public var blends: [RecallBlend] = []
    /// A query hits when the event's item is among the first `n` results.
    public var n = 50
    /// One evaluation per refresh policy, all on the same scored events.
    public var policies: [RefreshPolicy] = RefreshPolicy.defaults
    /// Events at positions `≥ ⌊count · split⌋` of the sorted log are scored; `frozen`
    /// holds the events before that position.
    public var split = 0.5
    /// Bounds and Swing parameters of the model (its algorithms and `k` are set from
    /// `algorithms`, `n` and `recall.maxNeighbours`; its own recall stays off).
    public var parameters = ModelParameters()
    /// u2i2i: `maxSeeds`, `maxNeighbours`, `perAuthor`, `excludeOwnItems` apply; the count
    /// is `n` and seen items are always excluded.
    public var recall = RecallOptions()
    /// u2i2i seeds: the user's last distinct items kept (0 = all).
    public var recentItems = 50
    /// u2i2i seeds: recency half-life in event-time milliseconds (nil: no decay).
    public var halfLifeMillis: Int64?
    public var actionWeights = ActionWeights()
    public var seeds = SeedTiming.refresh
    /// Replays run at once (one per policy and algorithm, each with its own model).
    public var threads = 2

    public init(algorithms: [Algorithm]) { self.algorithms = algorithms }

    public static let defaultAlgorithms: [Algorithm] = [.itemcfCosine, .itemcfJaccard, .swing]
}

extension RefreshPolicy {
    public static let defaults: [RefreshPolicy] = [.every(millis: 60_000), .every(millis: 3_600_000), .every(millis: 86_400_000), .frozen]
}

/// The two ways a query is answered.
public enum ReplayChannel: String, Sendable, Codable, CaseIterable {
    /// The i2i list of the user's most recent item.
    case i2i
    /// The user's u2i2i recall from their recent items.
    case u2i2i
}

/// One algorithm through one channel under one refresh policy.
public struct ReplayCell: Sendable, Codable, Equatable {
    public var algorithm: String
    public var channel: ReplayChannel
    public var hits: Int
    /// hits / scored events.
    public var hitRate: Double
    /// The mean over scored users of (the user's hits / the user's scored events).
    public var userAveragedHitRate: Double
}

public struct ReplayVariantResult: Sendable, Codable, Equatable {
    public var policy: String
    /// Refreshes that applied at least one event.
    public var refreshes: Int
    /// Scored events whose user had an earlier item in the state queried.
    public var answered: Int
    public var cells: [ReplayCell]
    /// Compute time of this policy's replays, summed over the algorithms.
    public var seconds: Double

    public func cell(_ algorithm: Algorithm, _ channel: ReplayChannel) -> ReplayCell? {
        cells.first { $0.algorithm == algorithm.rawValue && $0.channel == channel }
    }
}

public struct ReplayResult: Sendable, Codable, Equatable {
    /// Timestamped events replayed.
    public var events: Int
    /// Events without a timestamp (left out).
    public var untimed: Int
    public var users: Int
    public var items: Int
    /// The first scored position (events before it are only learned from).
    public var splitIndex: Int
    public var splitTimeMillis: Int64?
    /// Events at or after the split that are scored (repeats left out).
    public var scored: Int
    /// Events at or after the split whose (user, item) pair occurred earlier: not scored.
    public var repeats: Int
    /// Users with at least one scored event.
    public var scoredUsers: Int
    public var n: Int
    public var seeds: SeedTiming
    public var variants: [ReplayVariantResult]
}

/// Replays a time-ordered log in event time and asks, before each event (u, j) of the
/// second half, whether j is in u's top-N recall as of that moment, for lists refreshed
/// under each ``RefreshPolicy``.
///
/// Exactly:
/// - The log is sorted by timestamp (stable). Positions `< ⌊count · split⌋` are the first
///   half: learned from, never scored. An event at or after the split is **scored**
///   unless its (user, item) pair occurred earlier in the log (a repeat: knowing the user
///   already had the item is not recall; repeats are counted and skipped). Every policy
///   scores the same events.
/// - The **state** a query sees is a ``CFModel`` (the evaluated algorithms, the given
///   bounds) that has applied the events before the last refresh (``RefreshPolicy``).
/// - **i2i**: a hit when j is among the first N entries of the list, under the algorithm,
///   of u's most recent item (the latest-timestamped, ties by log position) in u's view
///   (below); no other filtering.
/// - **u2i2i**: a hit when j is among the N results of ``U2I2IComposer`` with the blend
///   of the algorithm alone, over u's recent items (a ``RecentInteractions`` of the
///   evaluator's, with `recentItems` and `halfLifeMillis`, "now" = the latest event time
///   of the view), excluding every item u had in the view.
/// - u's **view**: with ``SeedTiming/refresh`` the events of the state; with
///   ``SeedTiming/live`` every event before the query (the lists still lag).
/// - A scored event whose user has no item in that view is **unanswered**: a miss for
///   every algorithm and channel (counted in ``ReplayVariantResult/answered``).
/// - Hit rate at N = hits / scored events. User-averaged hit rate = the mean over the
///   users with a scored event of hits_u / scored_u.
///
/// The model's item indices equal the log's (both intern in order of first appearance),
/// so lists are looked up by log index.
public enum ReplayEvaluator {
    /// Called every 10,000 events of each replay (one per policy and algorithm) and at its end.
    public typealias Progress = @Sendable (_ policy: Int, _ algorithm: Int, _ position: Int) -> Void

    public static func run(_ log: ReplayLog, _ config: ReplayConfiguration, progress: Progress? = nil) -> ReplayResult {
        let entries = config.algorithms.map { RecallBlend($0) } + config.blends
        precondition(!entries.isEmpty && entries.allSatisfy { $0.parts.allSatisfy { $0.algorithm.kind == .i2i } } && config.n > 0)
        precondition(config.split >= 0 && config.split <= 1)
        let splitIndex = min(log.count, Int(Double(log.count) * config.split))
        var scoredPerUser = [Int](repeating: 0, count: log.userNames.count)
        var scored = 0, repeats = 0
        for e in splitIndex..<log.count {
            if log.isRepeat[e] { repeats += 1 } else { scored += 1; scoredPerUser[Int(log.users[e])] += 1 }
        }
        let policies = config.policies, algorithms = entries
        // One unit of work per (policy, algorithm or blend), each with its own model, freshest
        // policy first (the costliest: its lists expire most often).
        let units = policies.indices.flatMap { v in algorithms.indices.map { (v, $0) } }
        let slots = ParallelSlots<VariantRaw?>(count: units.count, initial: nil)
        let workers = max(1, min(config.threads, units.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let w = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard w < units.count else { return }
                let (v, a) = units[w]
                let raw = runVariant(log, config, policies[v], blends: [algorithms[a]], splitIndex: splitIndex) { progress?(v, a, $0) }
                slots.set(w, raw)
            }
        }
        let raws = slots.take().map { $0! }
        let scoredUsers = scoredPerUser.filter { $0 > 0 }.count
        var variants: [ReplayVariantResult] = []
        for (v, policy) in policies.enumerated() {
            var cells: [ReplayCell] = []
            var seconds = 0.0
            let first = raws[units.firstIndex { $0 == (v, 0) }!]
            for (a, algorithm) in algorithms.enumerated() {
                let raw = raws[units.firstIndex { $0 == (v, a) }!]
                seconds += raw.seconds
                // Which events are answered depends on the policy only.
                precondition(raw.answered == first.answered && raw.refreshes == first.refreshes)
                for (c, channel) in ReplayChannel.allCases.enumerated() {
                    var sum = 0.0
                    for u in scoredPerUser.indices where scoredPerUser[u] > 0 {
                        sum += Double(raw.userHits[c][u]) / Double(scoredPerUser[u])
                    }
                    cells.append(ReplayCell(algorithm: algorithm.description, channel: channel, hits: raw.hits[c],
                                            hitRate: scored > 0 ? Double(raw.hits[c]) / Double(scored) : 0,
                                            userAveragedHitRate: scoredUsers > 0 ? sum / Double(scoredUsers) : 0))
                }
            }
            variants.append(ReplayVariantResult(policy: policy.description, refreshes: first.refreshes, answered: first.answered,
                                                cells: cells, seconds: seconds))
        }
        return ReplayResult(events: log.count, untimed: log.untimed, users: log.userNames.count, items: log.itemNames.count,
                            splitIndex: splitIndex, splitTimeMillis: splitIndex < log.count ? log.times[splitIndex] : nil,
                            scored: scored, repeats: repeats, scoredUsers: scoredUsers, n: config.n, seeds: config.seeds,
                            variants: variants)
    }

    struct VariantRaw: Sendable {
        var refreshes = 0
        var answered = 0
        /// Per cell (algorithm × channel): hits, and hits per user.
        var hits: [Int]
        var userHits: [[Int32]]
        var seconds = 0.0
    }

    /// Replays the log under one policy for some blends (a single algorithm is a blend of
    /// one; cells: blend × channel).
    static func runVariant(_ log: ReplayLog, _ config: ReplayConfiguration, _ policy: RefreshPolicy, blends: [RecallBlend],
                           splitIndex: Int, progress: (Int) -> Void) -> VariantRaw {
        let clock = ContinuousClock()
        let started = clock.now
        let n = config.n
        var parameters = config.parameters
        parameters.algorithms = Set(blends.flatMap { $0.parts.map(\.algorithm) })
        parameters.k = max(n, config.recall.maxNeighbours)
        parameters.recall = nil
        var options = config.recall
        options.count = n
        options.excludeSeen = true
        let itemNames = log.itemNames.names, userNames = log.userNames.names
        let userCount = log.userNames.count

        var model = CFModel(parameters: parameters)
        // The log numbers items by first appearance; so does the model, unless it skips
        // events (frequency admission): reserving the log's numbering keeps them equal.
        model.reserveItems(itemNames)
        var tracker = RecentInteractions(capacity: config.recentItems, halfLifeMillis: config.halfLifeMillis)
        var lastItem = [UInt32](repeating: .max, count: userCount)
        var seen = [Set<UInt32>](repeating: [], count: userCount)
        var lists: [Algorithm: [UInt32: [ScoredNeighbor]]] = [:]
        var recalls = [[UInt32: [UInt32]]](repeating: [:], count: blends.count)
        var composers = blends.map { U2I2IComposer(blend: $0, options: options) }
        var selector: TopKSelector?
        var raw = VariantRaw(hits: Array(repeating: 0, count: blends.count * 2),
                             userHits: Array(repeating: Array(repeating: 0, count: userCount), count: blends.count * 2))
        var applied = 0

        func record(_ e: Int) {
            let u = Int(log.users[e]), i = log.items[e]
            tracker.record(user: UInt32(u), item: i, weight: config.actionWeights.weight(of: log.events[e].action), atMillis: log.times[e])
            lastItem[u] = i
            seen[u].insert(i)
        }
        /// Applies the buffered events before position `end`; lists computed so far expire.
        func refresh(upTo end: Int) {
            guard applied < end else { return }
            for e in applied..<end {
                model.apply(log.events[e])
                let i = Int(log.items[e])
                precondition(i < model.items.count && model.items.names[i] == itemNames[i], "model and log item indices differ")
                if config.seeds == .refresh { record(e) }
            }
            applied = end
            model.refreshSwing(threads: 1)
            raw.refreshes += 1
            lists.removeAll(keepingCapacity: true)
            for b in recalls.indices { recalls[b].removeAll(keepingCapacity: true) }
            selector = nil
        }
        func list(_ a: Algorithm, of item: UInt32) -> [ScoredNeighbor] {
            if let hit = lists[a]?[item] { return hit }
            guard Int(item) < model.items.count else { return [] }
            if selector == nil { selector = TopKSelector(k: parameters.k, names: model.items.names, sortKeys: model.items.sortKeys) }
            let l = model.list(a, of: item, using: &selector!)
            lists[a, default: [:]][item] = l
            return l
        }
        /// Whether `j` is among the first `n` of blend `b`'s i2i answer for `item`: the
        /// list itself for one algorithm, the blend composed from `item` alone otherwise.
        func i2iHolds(_ b: Int, _ item: UInt32, _ j: UInt32) -> Bool {
            let parts = blends[b].parts
            if parts.count == 1 { return list(parts[0].algorithm, of: item).prefix(n).contains { $0.index == j } }
            let ranked = composers[b].rank(seeds: [RecallSeed(item: item, weight: 1)], names: itemNames) { p, seed in list(parts[p].algorithm, of: seed) }
            return ranked.prefix(n).contains { $0.item == j }
        }
        func recall(_ b: Int, user u: UInt32) -> [UInt32] {
            if config.seeds == .refresh, let hit = recalls[b][u] { return hit }
            let seeds = tracker.seeds(of: u, nowMillis: tracker.watermarkMillis)
            let parts = blends[b].parts
            let ranked = composers[b].rank(seeds: seeds, names: itemNames) { p, seed in list(parts[p].algorithm, of: seed) }
            let mine = seen[Int(u)]
            let chosen = composers[b].select(ranked, user: userNames[Int(u)], seen: { mine.contains($0) }, blocked: { _ in false },
                                             author: { model.author(of: $0) }).map(\.item)
            if config.seeds == .refresh { recalls[b][u] = chosen }
            return chosen
        }

        var window = Int64.min
        for e in 0..<log.count {
            if e % 10_000 == 0 { progress(e) }
            switch policy {
            case .every(let delta):
                let w = RefreshPolicy.window(log.times[e], delta)
                if w != window { refresh(upTo: e); window = w }
            case .frozen:
                if e == splitIndex { refresh(upTo: e) }
            }
            if e >= splitIndex && !log.isRepeat[e] {
                let u = log.users[e], j = log.items[e]
                let last = lastItem[Int(u)]
                if last != .max {
                    raw.answered += 1
                    for a in blends.indices {
                        if i2iHolds(a, last, j) {
                            raw.hits[2 * a] += 1; raw.userHits[2 * a][Int(u)] += 1
                        }
                        if recall(a, user: u).contains(j) {
                            raw.hits[2 * a + 1] += 1; raw.userHits[2 * a + 1][Int(u)] += 1
                        }
                    }
                }
            }
            if config.seeds == .live { record(e) }
        }
        progress(log.count)
        let d = clock.now - started
        raw.seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return raw
    }
}
