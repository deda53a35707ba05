/// A seed of a user's recall: an item and its weight.
public struct RecallSeed: Sendable, Equatable {
    public var item: UInt32
    public var weight: Double
    public init(item: UInt32, weight: Double) { self.item = item; self.weight = weight }
}

/// A ranked u2i2i candidate.
public struct RecallCandidate: Sendable, Equatable {
    public var item: UInt32
    public var score: Double
    public init(item: UInt32, score: Double) { self.item = item; self.score = score }
}

/// One seed's part in a result's score: `blendWeight · seedWeight · scaledSimilarity`.
public struct RecallContribution: Sendable, Equatable {
    public var seed: UInt32
    public var algorithm: Algorithm
    public var seedWeight: Double
    /// The score in the seed's list, as stored.
    public var similarity: Double
    /// The score on the blend's common scale (``BlendScale``): `similarity` itself unless
    /// the blend has two or more lists and scales them by their maximum.
    public var scaledSimilarity: Double
    public var amount: Double
}

/// Composes seeds with i2i lists into a ranked u2i2i list (pure; item ids are dense
/// indices whose names the caller supplies).
///
/// `score(u, j) = Σ_a w_a · Σ_{i ∈ seeds} seed(u, i) · sim_a(i, j)`, where `sim_a(i, ·)` is
/// the first `maxNeighbours` entries of seed `i`'s list under algorithm `a` (in a blend of
/// two or more algorithms with ``BlendScale/max``, divided by the list's top score) and
/// the seeds are the `maxSeeds` heaviest (ties by item id). Ranking: score descending, ties by item
/// id byte-wise. Scores that are not > 0 are dropped. Filters (``select``) apply in rank
/// order: blocked items, seen items, the user's own items, the per-author cap.
///
/// Guarantees: the result depends only on the inputs (not on the order lists or seeds
/// are given in, up to floating-point summation order, which is fixed: seeds by weight
/// then id, algorithms in blend order).
public struct U2I2IComposer: Sendable {
    public let blend: RecallBlend
    public let options: RecallOptions
    private var accumulator: [Double] = []
    private var marked: [Bool] = []
    private var touched: [UInt32] = []

    public init(blend: RecallBlend, options: RecallOptions) {
        self.blend = blend
        self.options = options
    }

    /// Whether each list is divided by its top score (a blend of two or more, scaled).
    public var scalesLists: Bool { blend.parts.count > 1 && options.blendScale == .max }

    /// What a list's scores are multiplied by to reach the blend's scale (lists are best
    /// first): `1 / top` when `scaling`, else 1.
    @inline(__always)
    static func scale(of list: [ScoredNeighbor], scaling: Bool) -> Double {
        guard scaling, let top = list.first?.score, top > 0 else { return 1 }
        return 1 / top
    }

    /// The seeds used: positive weights, heaviest first (ties by id), at most `maxSeeds`.
    public func chosenSeeds(_ seeds: [RecallSeed], names: [String]) -> [RecallSeed] {
        var s = seeds.filter { $0.weight > 0 && $0.weight.isFinite }
        s.sort { $0.weight != $1.weight ? $0.weight > $1.weight : names[Int($0.item)].utf8Precedes(names[Int($1.item)]) }
        if options.maxSeeds > 0 && s.count > options.maxSeeds { s.removeLast(s.count - options.maxSeeds) }
        return s
    }

    /// Every candidate with a positive score, ranked. `neighbours(a, i)` is seed `i`'s
    /// list under the blend's part `a`, best first.
    public mutating func rank(seeds: [RecallSeed], names: [String],
                              neighbours: (_ part: Int, _ seed: UInt32) -> [ScoredNeighbor]) -> [RecallCandidate] {
        if accumulator.count < names.count {
            accumulator.append(contentsOf: repeatElement(0, count: names.count - accumulator.count))
            marked.append(contentsOf: repeatElement(false, count: names.count - marked.count))
        }
        touched.removeAll(keepingCapacity: true)
        let chosen = chosenSeeds(seeds, names: names)
        var marked = self.marked
        self.marked = []
        let scales = scalesLists
        accumulator.withUnsafeMutableBufferPointer { acc in
            for (p, part) in blend.parts.enumerated() {
                for seed in chosen {
                    let list = neighbours(p, seed.item)
                    let end = options.maxNeighbours > 0 ? min(list.count, options.maxNeighbours) : list.count
                    let factor = part.weight * seed.weight * Self.scale(of: list, scaling: scales)
                    for n in list[0..<end] {
                        let j = Int(n.index)
                        if !marked[j] { marked[j] = true; touched.append(n.index) }
                        acc[j] += factor * n.score
                    }
                }
            }
        }
        var out: [RecallCandidate] = []
        out.reserveCapacity(touched.count)
        for j in touched {
            let score = accumulator[Int(j)]
            accumulator[Int(j)] = 0
            marked[Int(j)] = false
            if score > 0 { out.append(RecallCandidate(item: j, score: score)) }
        }
        self.marked = marked
        out.sort { $0.score != $1.score ? $0.score > $1.score : names[Int($0.item)].utf8Precedes(names[Int($1.item)]) }
        return out
    }

    /// Walks ranked candidates and keeps the first `count` that pass the filters.
    /// `author(j)` is item `j`'s author id (nil when unknown).
    public func select(_ ranked: [RecallCandidate], user: String,
                       seen: (UInt32) -> Bool, blocked: (UInt32) -> Bool,
                       author: (UInt32) -> String?) -> [RecallCandidate] {
        var out: [RecallCandidate] = []
        var perAuthor: [String: Int] = [:]
        for c in ranked {
            if options.count > 0 && out.count >= options.count { break }
            if blocked(c.item) { continue }
            if options.excludeSeen && seen(c.item) { continue }
            if options.excludeOwnItems || options.perAuthor > 0, let a = author(c.item) {
                if options.excludeOwnItems && a == user { continue }
                if options.perAuthor > 0 {
                    let n = perAuthor[a, default: 0]
                    if n >= options.perAuthor { continue }
                    perAuthor[a] = n + 1
                }
            }
            out.append(c)
        }
        return out
    }

    /// What made up `item`'s score: each (seed, algorithm) whose list holds it.
    public func explain(item: UInt32, seeds: [RecallSeed], names: [String],
                        neighbours: (_ part: Int, _ seed: UInt32) -> [ScoredNeighbor]) -> [RecallContribution] {
        var out: [RecallContribution] = []
        for (p, part) in blend.parts.enumerated() {
            for seed in chosenSeeds(seeds, names: names) {
                let list = neighbours(p, seed.item)
                let end = options.maxNeighbours > 0 ? min(list.count, options.maxNeighbours) : list.count
                if let n = list[0..<end].first(where: { $0.index == item }) {
                    let scaled = n.score * Self.scale(of: list, scaling: scalesLists)
                    out.append(RecallContribution(seed: seed.item, algorithm: part.algorithm, seedWeight: seed.weight,
                                                  similarity: n.score, scaledSimilarity: scaled, amount: part.weight * seed.weight * scaled))
                }
            }
        }
        out.sort { $0.amount > $1.amount }
        return out
    }
}
