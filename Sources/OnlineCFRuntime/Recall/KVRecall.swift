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

/// What one u2i2i request brings beyond the stored state: seeds given with it (a guest,
/// a signed-out visitor, a session's items) and items to leave out.
public struct RecallRequest: Sendable, Equatable {
    /// Items and weights used as seeds, beside or instead of the stored ones. A request
    /// seed counts as an item the user interacted with (with `excludeSeen` it is never
    /// returned).
    public var seeds: [RecallSeedName] = []
    /// Whether `seeds` replace the stored seeds (true) or join them, weights summed per
    /// item (false, the default). The stored history still counts as seen either way.
    public var replacesStoredSeeds = false
    /// Items never returned.
    public var exclude: Set<String> = []

    /// At most this many request seeds and exclusions each.
    public static let maxItems = 1_000

    public init(seeds: [RecallSeedName] = [], replacesStoredSeeds: Bool = false, exclude: Set<String> = []) {
        self.seeds = seeds
        self.replacesStoredSeeds = replacesStoredSeeds
        self.exclude = exclude
    }

    /// Parses `ITEM[:WEIGHT],…` (weight 1 when absent; the last `:` separates a weight
    /// only when what follows is a number, so ids may hold colons).
    public static func parseSeeds(_ text: String) throws(RecallRequestError) -> [RecallSeedName] {
        var out: [RecallSeedName] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            var item = String(part), weight = 1.0
            if let colon = part.lastIndex(of: ":"), let w = Double(part[part.index(after: colon)...]) {
                item = String(part[..<colon]); weight = w
            }
            guard !item.isEmpty else { throw RecallRequestError("a seed with an empty item id in '\(part)'") }
            guard weight.isFinite, weight > 0 else { throw RecallRequestError("the weight of seed '\(item)' must be a number > 0") }
            out.append(RecallSeedName(item: item, weight: weight))
        }
        guard out.count <= maxItems else { throw RecallRequestError("\(out.count) seeds; at most \(maxItems)") }
        return out
    }

    /// Parses `ITEM,…`.
    public static func parseExclude(_ text: String) throws(RecallRequestError) -> Set<String> {
        let items = text.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
        guard items.count <= maxItems else { throw RecallRequestError("\(items.count) excluded items; at most \(maxItems)") }
        return Set(items)
    }
}

/// A seed named by its item id.
public struct RecallSeedName: Sendable, Equatable {
    public var item: String
    public var weight: Double
    public init(item: String, weight: Double) { self.item = item; self.weight = weight }
}

/// A request's seeds or exclusions that cannot be used; the message says why.
public struct RecallRequestError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One u2i2i answer read from the KV store.
public struct RecallAnswer: Sendable {
    public struct Entry: Sendable {
        public var item: String
        public var score: Double
        /// With `explain`: (seed, algorithm, seed weight, similarity as stored, similarity on
        /// the blend's scale, amount), largest first.
        public var contributions: [(seed: String, algorithm: String, seedWeight: Double, similarity: Double, scaledSimilarity: Double, amount: Double)]
        /// The entry pads a short recall from the `popular` list (its score is the item's
        /// decayed count of users there).
        public var fallback = false
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

    /// The user's recall: stored seeds (as ``seedSource`` says) and `request`'s, expanded,
    /// ranked and filtered; `request.exclude` never appears. A user the store has never
    /// seen gets the recall of the request's seeds alone.
    public func recommend(user: String, explain: Bool = false, request: RecallRequest = RecallRequest()) throws -> RecallAnswer {
        if !cacheLists { lists.removeAll(); blocked.removeAll(); authors.removeAll() }
        let keys = store.keys
        let sets = try store.readSortedSets([keys.u2iSeeds(user: user), keys.list(.recent, id: user)])
        var weights: [UInt32: Double] = [:]
        var seen = Set<UInt32>()
        for (source, set) in zip([SeedSource.u2i, .recent], sets) {
            for (item, w) in set {
                let i = items.intern(item)
                seen.insert(i)
                if !request.replacesStoredSeeds && (seedSource == .both || seedSource == source) { weights[i, default: 0] += w }
            }
        }
        for seed in request.seeds {
            let i = items.intern(seed.item)
            seen.insert(i)
            weights[i, default: 0] += seed.weight
        }
        let excluded = Set(request.exclude.map { items.intern($0) })
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
            selected = composer.select(prefix, user: user, seen: { seen.contains($0) }, blocked: { self.blocked[$0] ?? false || excluded.contains($0) },
                                       author: { self.authors[$0] ?? nil })
            if known == ranked.count || (options.count > 0 && selected.count >= options.count) { break }
            known = ranked.count
        }
        // A short recall is padded from the popular list, with the same filters.
        var padding = Set<UInt32>()
        if options.fallback && options.count > 0 && selected.count < options.count {
            let ranks = Set(ranked.map(\.item))
            let popular = try store.readSortedSets([keys.popularList])[0]
            let tail = popular.map { RecallCandidate(item: items.intern($0.0), score: $0.1) }.filter { !ranks.contains($0.item) }
            if !tail.isEmpty {
                try fetchFacts(tail.map(\.item), nowMillis: now)
                padding = Set(tail.map(\.item))
                selected = composer.select(Array(ranked) + tail, user: user, seen: { seen.contains($0) },
                                           blocked: { self.blocked[$0] ?? false || excluded.contains($0) }, author: { self.authors[$0] ?? nil })
            }
        }
        let entries = selected.map { c in
            RecallAnswer.Entry(item: items.names[Int(c.item)], score: c.score, contributions: padding.contains(c.item) || !explain ? [] : composer.explain(
                item: c.item, seeds: chosen, names: items.names, neighbours: { part, seed in self.lists[self.blend.parts[part].algorithm]?[seed] ?? [] }
            ).map { (items.names[Int($0.seed)], $0.algorithm.rawValue, $0.seedWeight, $0.similarity, $0.scaledSimilarity, $0.amount) },
                fallback: padding.contains(c.item))
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
