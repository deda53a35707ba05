import Foundation
import Testing
import OnlineCFCore

@Suite struct U2I2IComposerTests {
    let names = ["a", "b", "c", "d", "e", "f"]
    // Lists under part 0: a → c 0.5, d 0.4, e 0.1; b → c 0.2, e 0.3, a 0.9.
    func lists(_ part: Int, _ seed: UInt32) -> [ScoredNeighbor] {
        let table: [[UInt32: [(UInt32, Double)]]] = [
            [0: [(2, 0.5), (3, 0.4), (4, 0.1)], 1: [(0, 0.9), (4, 0.3), (2, 0.2)]],
            [0: [(5, 1.0)], 1: [(3, 2.0)]],
        ]
        return (table[part][seed] ?? []).map { ScoredNeighbor(index: $0.0, score: $0.1) }
    }
    let seeds = [RecallSeed(item: 0, weight: 2), RecallSeed(item: 1, weight: 1)]

    func recommend(_ options: RecallOptions, blend: RecallBlend = RecallBlend(.itemcfCosine), user: String = "u",
                   authors: [UInt32: String] = [:], blocked: Set<UInt32> = []) -> [String: Double] {
        var composer = U2I2IComposer(blend: blend, options: options)
        let ranked = composer.rank(seeds: seeds, names: names, neighbours: lists)
        let seen = Set(seeds.map(\.item))
        let out = composer.select(ranked, user: user, seen: { seen.contains($0) }, blocked: { blocked.contains($0) }, author: { authors[$0] })
        return Dictionary(uniqueKeysWithValues: out.map { (names[Int($0.item)], $0.score) })
    }

    @Test func handComputedScores() {
        var o = RecallOptions()
        // c = 2·0.5 + 1·0.2, d = 2·0.4, e = 2·0.1 + 1·0.3; a is a seed (seen).
        #expect(recommend(o) == ["c": 1.2, "d": 0.8, "e": 0.5])
        o.excludeSeen = false
        #expect(recommend(o) == ["c": 1.2, "d": 0.8, "e": 0.5, "a": 0.9])
        o.excludeSeen = true
        o.maxNeighbours = 2   // a → c, d; b → a, e
        #expect(recommend(o) == ["c": 1.0, "d": 0.8, "e": 0.3])
        o.maxNeighbours = 0; o.maxSeeds = 1   // only a (heaviest)
        #expect(recommend(o) == ["c": 1.0, "d": 0.8, "e": 0.2])
        o.maxSeeds = 0; o.count = 2
        #expect(recommend(o) == ["c": 1.2, "d": 0.8])
    }

    @Test func blendWeighsEachList() {
        let blend = RecallBlend([.init(algorithm: .itemcfCosine, weight: 0.5), .init(algorithm: .swing, weight: 2)])
        // Raw scores. part 1: a → f 1.0, b → d 2.0. c = 0.5·1.2, d = 0.5·0.8 + 2·1·2, e = 0.5·0.5, f = 2·2·1.
        var raw = RecallOptions()
        raw.blendScale = .raw
        let got = recommend(raw, blend: blend)
        #expect(got.count == 4)
        #expect(abs(got["c"]! - 0.6) < 1e-15 && abs(got["d"]! - 4.4) < 1e-15 && abs(got["e"]! - 0.25) < 1e-15 && got["f"] == 4)
    }

    /// The default scale of a blend: each seed's list divided by its top score before the
    /// weights apply (a: part 0 max 0.5, part 1 max 1.0; b: part 0 max 0.9, part 1 max 2.0).
    @Test func blendScalesEachListByItsTopScore() {
        let blend = RecallBlend([.init(algorithm: .itemcfCosine, weight: 0.5), .init(algorithm: .swing, weight: 2)])
        let got = recommend(RecallOptions(), blend: blend)
        let expected = ["c": 0.5 * (2 * 1.0 + 0.2 / 0.9), "d": 0.5 * (2 * 0.8) + 2 * 1.0, "e": 0.5 * (2 * 0.2 + 0.3 / 0.9), "f": 2 * (2 * 1.0)]
        #expect(Set(got.keys) == Set(expected.keys))
        for (item, score) in expected { #expect(abs(got[item]! - score) <= 1e-12 * score, "\(item)") }
        // f (4.0) now ranks above d (2.8); with raw scores d (4.4) was first.
        var composer = U2I2IComposer(blend: blend, options: RecallOptions())
        #expect(composer.rank(seeds: seeds, names: names, neighbours: lists).map(\.item).prefix(2) == [5, 3])
        let parts = composer.explain(item: 3, seeds: seeds, names: names, neighbours: lists)
        #expect(parts.map(\.algorithm) == [.swing, .itemcfCosine] && parts.map(\.seed) == [1, 0])
        #expect(parts.map(\.similarity) == [2.0, 0.4] && parts.map(\.scaledSimilarity) == [1.0, 0.4 / 0.5])
        #expect(abs(parts[0].amount - 2.0) < 1e-15 && abs(parts[1].amount - 0.8) < 1e-15)
        // A single list is used as it is.
        #expect(recommend(RecallOptions()) == ["c": 1.2, "d": 0.8, "e": 0.5])
    }

    @Test func filtersAuthorsOwnItemsAndBlocked() {
        var o = RecallOptions()
        o.perAuthor = 1
        #expect(recommend(o, authors: [2: "A", 3: "A", 4: "B"]) == ["c": 1.2, "e": 0.5])
        o.perAuthor = 0
        #expect(recommend(o, user: "A", authors: [2: "A", 3: "A", 4: "B"]) == ["e": 0.5])
        o.excludeOwnItems = false
        #expect(recommend(o, user: "A", authors: [2: "A", 3: "A", 4: "B"]).count == 3)
        #expect(recommend(o, blocked: [2]) == ["d": 0.8, "e": 0.5])
    }

    @Test func tiesByItemId() {
        var composer = U2I2IComposer(blend: RecallBlend(.swing), options: RecallOptions())
        let ranked = composer.rank(seeds: [RecallSeed(item: 0, weight: 1)], names: ["s", "zz", "b", "m"]) { _, _ in
            [ScoredNeighbor(index: 1, score: 1), ScoredNeighbor(index: 3, score: 1), ScoredNeighbor(index: 2, score: 1)]
        }
        #expect(ranked.map(\.item) == [2, 3, 1])
    }

    @Test func explainListsContributions() {
        let composer = U2I2IComposer(blend: RecallBlend(.itemcfCosine), options: RecallOptions())
        let parts = composer.explain(item: 2, seeds: seeds, names: names, neighbours: lists)
        #expect(parts.map(\.seed) == [0, 1])
        #expect(parts.map(\.amount) == [1.0, 0.2])
    }
}

@Suite struct RecallParsingTests {
    @Test func blends() throws {
        let b = try RecallBlend(parsing: "swing:0.6,itemcf:cosine:0.4")
        #expect(b.parts == [.init(algorithm: .swing, weight: 0.6), .init(algorithm: .itemcfCosine, weight: 0.4)])
        #expect(try RecallBlend(parsing: "itemcf:jaccard").parts == [.init(algorithm: .itemcfJaccard, weight: 1)])
        #expect(try RecallBlend(parsing: b.description) == b)
        for bad in ["u2u:cosine", "swing,swing", "swing:0", "itemcf:cosine:-1", "", "nope"] {
            #expect(throws: RecallBlendError.self, "\(bad)") { try RecallBlend(parsing: bad) }
        }
    }

    @Test func actionWeights() throws {
        let w = try ActionWeights(parsing: "click=1, like=2,*=0.5")
        #expect(w.weight(of: "like") == 2 && w.weight(of: "share") == 0.5 && w.weight(of: nil) == 0.5)
        #expect(try ActionWeights(parsing: w.description) == w)
        #expect(throws: ActionWeightsError.self) { try ActionWeights(parsing: "click") }
    }
}

@Suite struct RecentInteractionsTests {
    /// The kept (value, time) form equals the direct sum Σ w · 2^(−(now − t)/h) over a
    /// long stream with out-of-order times, within 1e-12 relative.
    @Test func decayedSumsAreExact() {
        let h: Int64 = 3_600_000
        var recent = RecentInteractions(capacity: 0, halfLifeMillis: h)
        var direct: [UInt32: [(Double, Int64)]] = [:]
        var rng = SplitMix64(seed: 9)
        var t: Int64 = 1_700_000_000_000
        for _ in 0..<20_000 {
            t += Int64(rng.next() % 60_000)
            let jitter = Int64(rng.next() % 600_000)   // up to 10 min late
            let at = t - jitter
            let item = UInt32(rng.next() % 40), w = Double(rng.next() % 3 + 1)
            recent.record(user: 0, item: item, weight: w, atMillis: at)
            direct[item, default: []].append((w, at))
        }
        let now = recent.watermarkMillis
        for seed in recent.seeds(of: 0, nowMillis: now) {
            let expected = direct[seed.item]!.reduce(0.0) { $0 + $1.0 * pow(2, -Double(now - $1.1) / Double(h)) }
            #expect(abs(seed.weight - expected) <= 1e-12 * expected, "item \(seed.item): \(seed.weight) vs \(expected)")
        }
    }

    @Test func keepsTheMostRecentItems() {
        var recent = RecentInteractions(capacity: 2, halfLifeMillis: nil)
        recent.record(user: 1, item: 10, weight: 1, atMillis: 100)
        recent.record(user: 1, item: 11, weight: 1, atMillis: 200)
        recent.record(user: 1, item: 10, weight: 2, atMillis: 300)
        recent.record(user: 1, item: 12, weight: 1, atMillis: 400)   // forgets 11 (latest event 200)
        #expect(recent.seeds(of: 1, nowMillis: 400).map { [$0.item: $0.weight] } == [[10: 3], [12: 1]])
        #expect(recent.seeds(of: 0, nowMillis: 400).isEmpty)
    }
}

@Suite struct ModerationTests {
    @Test func blockedAndExpiry() {
        var m = ItemModeration(status: ["h": .hidden, "a": .active], expiresMillis: ["x": 1000, "y": 5000])
        #expect(m.blockedItems(nowMillis: 999) == ["h"])
        #expect(m.blockedItems(nowMillis: 1000) == ["h", "x"])
        #expect(m.nextExpiry(after: 1000) == 5000)
        m.set("h", status: .active)
        #expect(!m.isBlocked("h", nowMillis: 0) && m.isBlocked("y", nowMillis: 6000))
    }

    /// A blocked item leaves every i2i list and its own empties; the lists that change
    /// are marked; unblocking restores the lists exactly.
    @Test func modelBlocksItemsInEveryList() throws {
        var p = ModelParameters(algorithms: [.itemcfCosine, .itemcfLift, .swing])
        p.swing.minUserBehavior = 2
        var model = CFModel(parameters: p)
        var g = try EventGenerator(configuration: GeneratorConfiguration(events: 3000, users: 200, items: 80, seed: 3))
        while let e = g.next() { model.apply(e) }
        model.rebuildSwing()
        func lists() -> [Algorithm: [String: [String]]] {
            var out: [Algorithm: [String: [String]]] = [:]
            for a in [Algorithm.itemcfCosine, .itemcfLift, .swing] {
                for (i, name) in model.items.names.enumerated() {
                    out[a, default: [:]][name] = model.list(a, of: UInt32(i)).map { model.items.names[Int($0.index)] + "=\($0.score)" }
                }
            }
            return out
        }
        let before = lists()
        let victim = model.items.names[0]
        model.clearChanges(full: true)
        model.setBlocked(item: victim, true)
        let during = lists()
        let changed = model.changedEntities(full: false)
        for (a, perItem) in during {
            #expect(perItem[victim]!.isEmpty)
            let marked = Set(changed.first { $0.0 == .algorithm(a) }!.1.map { model.items.names[Int($0)] })
            for (item, list) in perItem {
                #expect(!list.contains { $0.hasPrefix(victim + "=") }, "\(a) list of \(item) still holds \(victim)")
                if list != before[a]![item]! { #expect(marked.contains(item), "\(a) list of \(item) changed but is not marked") }
            }
        }
        model.setBlocked(item: victim, false)
        #expect(lists() == before)
    }
}

/// The popular list: distinct users per item, each weighed by `2^(−age/halfLife)` in event
/// time, blocked and expired items left out.
@Suite struct PopularItemsTests {
    @Test func decayedCountsOfDistinctUsers() {
        var p = ModelParameters(algorithms: [.itemcfCosine])
        var popular = PopularParameters()
        popular.halfLifeMillis = 3_600_000; popular.count = 3
        p.popular = popular
        var m = CFModel(parameters: p)
        let hour: Int64 = 3_600_000
        for (u, i, t) in [("u1", "a", 0), ("u2", "a", 0), ("u1", "a", hour), ("u3", "b", hour), ("u4", "b", 2 * hour),
                          ("u5", "c", 2 * hour), ("u6", "d", 2 * hour), ("u7", "d", 2 * hour)] as [(String, String, Int64)] {
            m.apply(Event(user: u, item: i, timestampMillis: t))
        }
        // As of 2 h: a = 2 users at age 2 h (u1's repeat does not count) = 0.5; b = 0.5 + 1;
        // c = 1; d = 2. The list holds the top 3.
        func list(_ m: CFModel) -> [(String, Double)] { m.popularList().map { (m.items.names[Int($0.index)], $0.score) } }
        let got = list(m)
        #expect(got.map(\.0) == ["d", "b", "c"])
        #expect(zip(got.map(\.1), [2.0, 1.5, 1.0]).allSatisfy { abs($0 - $1) < 1e-12 })
        m.setBlocked(item: "d", true)
        #expect(list(m).map(\.0) == ["b", "c", "a"])
        #expect(abs(list(m)[2].1 - 0.5) < 1e-12)
        // Restored from a snapshot, it answers the same.
        let restored = try? CFModel(snapshot: m.snapshot(), parameters: p)
        #expect(restored.map(list)?.map(\.0) == ["b", "c", "a"])
    }
}
