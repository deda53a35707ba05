import Foundation
import OnlineCFCore
import OnlineCFKV

/// Where a user's u2i2i seeds come from.
public enum SeedSource: String, Sendable, CaseIterable {
    /// `{ns}:u2i:{user}`: written by an upstream model or `onlinecf u2i load`.
    case u2i
    /// `{ns}:recent:{user}`: the user's recent items, kept by `onlinecf run` with recall on.
    case recent
    /// Both, weights summed per item.
    case both
}

/// One u2i2i answer read from the KV store.
public struct RecallAnswer: Sendable {
    public struct Entry: Sendable {
        public var item: String
        public var score: Double
        /// With `explain`: (seed, algorithm, seed weight, similarity, amount), largest first.
        public var contributions: [(seed: String, algorithm: String, seedWeight: Double, similarity: Double, amount: Double)]
    }
    public var user: String
    public var seeds: Int
    public var entries: [Entry]
}

/// u2i2i recall served from the KV store: reads a user's seeds and the seeds' i2i lists,
/// composes them with ``U2I2IComposer`` and filters blocked, seen and capped items.
///
/// Guarantees: the same formula, ranking and filters as the lists `onlinecf run` writes
/// (see docs/recall.md); items blocked at the moment of the call (status
/// hidden/deleted, or expired by the wall clock) are never returned, even when a stored
/// i2i list still holds them. With `cacheLists` the i2i lists and item facts read are
/// kept for later calls (for answering many users in one process; the cache does not
/// see later changes). Not thread-safe: use one instance per thread.
public final class KVRecall {
    public let store: StateStore
    public let blend: RecallBlend
    public let options: RecallOptions
    public let seedSource: SeedSource
    public let cacheLists: Bool
    private var composer: U2I2IComposer
    private var items = IdInterner()
    private var lists: [Algorithm: [UInt32: [ScoredNeighbor]]] = [:]
    private var blocked: [UInt32: Bool] = [:]
    private var authors: [UInt32: String?] = [:]
    /// Returns the current time in Unix milliseconds (injectable for tests).
    public var nowMillis: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    public init(store: StateStore, blend: RecallBlend, options: RecallOptions, seeds: SeedSource, cacheLists: Bool = false) {
        self.store = store
        self.blend = blend
        self.options = options
        self.seedSource = seeds
        self.cacheLists = cacheLists
        self.composer = U2I2IComposer(blend: blend, options: options)
    }

    public func recommend(user: String, explain: Bool = false) throws -> RecallAnswer {
        if !cacheLists { lists.removeAll(); blocked.removeAll(); authors.removeAll() }
        let keys = store.keys
        let sets = try store.readSortedSets([keys.u2iSeeds(user: user), keys.list(.recent, id: user)])
        var weights: [UInt32: Double] = [:]
        var seen = Set<UInt32>()
        for (source, set) in zip([SeedSource.u2i, .recent], sets) {
            for (item, w) in set {
                let i = items.intern(item)
                seen.insert(i)
                if seedSource == .both || seedSource == source { weights[i, default: 0] += w }
            }
        }
        let seeds = weights.map { RecallSeed(item: $0.key, weight: $0.value) }
        let chosen = composer.chosenSeeds(seeds, names: items.names)
        try fetchLists(for: chosen.map(\.item))
        let ranked = composer.rank(seeds: chosen, names: items.names) { part, seed in
            self.lists[self.blend.parts[part].algorithm]?[seed] ?? []
        }
        let now = nowMillis()
        // Item facts for the best candidates first; all of them only when filters bite.
        var known = min(ranked.count, options.count > 0 ? max(4 * options.count, options.count + 100) : ranked.count)
        var selected: [RecallCandidate] = []
        while true {
            try fetchFacts(Array(ranked[0..<known].map(\.item)), nowMillis: now)
            let prefix = Array(ranked[0..<known])
            selected = composer.select(prefix, user: user, seen: { seen.contains($0) }, blocked: { self.blocked[$0] ?? false },
                                       author: { self.authors[$0] ?? nil })
            if known == ranked.count || (options.count > 0 && selected.count >= options.count) { break }
            known = ranked.count
        }
        let entries = selected.map { c in
            RecallAnswer.Entry(item: items.names[Int(c.item)], score: c.score, contributions: explain ? composer.explain(
                item: c.item, seeds: chosen, names: items.names, neighbours: { part, seed in self.lists[self.blend.parts[part].algorithm]?[seed] ?? [] }
            ).map { (items.names[Int($0.seed)], $0.algorithm.rawValue, $0.seedWeight, $0.similarity, $0.amount) } : [])
        }
        return RecallAnswer(user: user, seeds: chosen.count, entries: entries)
    }

    private func fetchLists(for seeds: [UInt32]) throws {
        var wanted: [(Algorithm, UInt32)] = []
        for part in blend.parts {
            for seed in seeds where lists[part.algorithm]?[seed] == nil { wanted.append((part.algorithm, seed)) }
        }
        var start = 0
        while start < wanted.count {
            let batch = wanted[start..<min(wanted.count, start + 512)]
            let read = try store.readSortedSets(batch.map { store.keys.list($0.0, id: items.names[Int($0.1)]) }, limit: options.maxNeighbours)
            for ((algorithm, seed), list) in zip(batch, read) {
                lists[algorithm, default: [:]][seed] = list.map { ScoredNeighbor(index: items.intern($0.0), score: $0.1) }
            }
            start += 512
        }
    }

    private func fetchFacts(_ candidates: [UInt32], nowMillis: Int64) throws {
        let missing = candidates.filter { blocked[$0] == nil }
        guard !missing.isEmpty else { return }
        let names = missing.map { items.names[Int($0)] }
        let blockedNames = try store.blockedAmong(names, nowMillis: nowMillis)
        let authorNames = try store.authors(of: names)
        for (n, i) in missing.enumerated() {
            blocked[i] = blockedNames.contains(names[n])
            authors[i] = n < authorNames.count ? authorNames[n] : nil
        }
    }
}
