import Testing
import OnlineCFCore
import OnlineCFTestSupport

@Suite struct SwingTests {
    static func events(_ baskets: [(String, [String])]) -> [Event] {
        baskets.flatMap { user, items in items.map { Event(user: user, item: $0) } }
    }

    /// The formula on a hand-computed example: user filter (min 2, max 5), alpha1 = 1,
    /// beta = 1, alpha2 = 1, and sampling of at most 2 users per item.
    @Test func handComputedExample() {
        let baskets: [(String, [String])] = [
            ("u1", ["A", "B", "C"]), ("u2", ["A", "B", "C", "D"]), ("u3", ["A", "B"]),
            ("u4", ["A"]),                                  // too few items: left out
            ("u5", ["A", "B", "C", "D", "E", "F"]),         // too many: left out
        ]
        var p = SwingParameters()
        p.alpha1 = 1; p.beta = 1; p.alpha2 = 1; p.minUserBehavior = 2; p.maxUserBehavior = 5; p.maxUserNumPerItem = 2; p.seed = 7
        var model = CFModel(parameters: ModelParameters(algorithms: [.swing], k: 10, swing: p))
        model.setSwingIncremental(false)
        for e in Self.events(baskets) { model.apply(e) }
        model.rebuildSwing()
        func list(_ item: String) -> [String: Double] {
            let names = model.items.names
            return Dictionary(uniqueKeysWithValues: model.list(.swing, of: model.items.index(of: item)!).map { (names[Int($0.index)], $0.score) })
        }
        // w1 = 1/4, w2 = 1/5, w3 = 1/3; I1∩I2 = {A,B,C}, I1∩I3 = I2∩I3 = {A,B}.
        let c12 = (1.0 / 4) * (1.0 / 5) / (1 + 3), c13 = (1.0 / 4) * (1.0 / 3) / (1 + 2), c23 = (1.0 / 5) * (1.0 / 3) / (1 + 2)
        #expect(list("C") == ["A": c12, "B": c12])       // L_C = {u1, u2}: no sampling
        #expect(list("D").isEmpty && list("E").isEmpty)   // one kept user at most
        // L_A and L_B: 2 of {u1, u2, u3} (user indices 0, 1, 2), chosen by the sampler.
        for item in ["A", "B"] {
            let sample = SwingSampler.sample([0, 1, 2], item: item, seed: 7, limit: 2)
            let other = item == "A" ? "B" : "A"
            switch sample {
            case [0, 1]: #expect(list(item) == [other: c12, "C": c12])
            case [0, 2]: #expect(list(item) == [other: c13])
            case [1, 2]: #expect(list(item) == [other: c23])
            default: Issue.record("unexpected sample \(sample)")
            }
        }
        // Without sampling, A sums all three pairs.
        p.maxUserNumPerItem = 1000
        var full = CFModel(parameters: ModelParameters(algorithms: [.swing], k: 10, swing: p))
        for e in Self.events(baskets) { full.apply(e) }
        full.rebuildSwing()
        let a = full.list(.swing, of: full.items.index(of: "A")!).map { (full.items.names[Int($0.index)], $0.score) }
        #expect(a.map(\.0) == ["B", "C"])
        #expect(abs(a[0].1 - (c12 + c13 + c23)) < 1e-15 && a[1].1 == c12)
    }

    @Test(arguments: [1000, 7])
    func batchEqualsBruteForce(maxUsersPerItem: Int) {
        let events = TestEvents.random(count: 6000, users: 120, items: 90, authors: 5, seed: 21)
        var p = SwingParameters()
        p.minUserBehavior = 5; p.maxUserBehavior = 60; p.maxUserNumPerItem = maxUsersPerItem; p.alpha2 = 0.5
        var model = CFModel(parameters: ModelParameters(algorithms: [.swing], k: 15, swing: p))
        model.setSwingIncremental(false)
        for e in events { model.apply(e) }
        model.rebuildSwing(threads: 3)
        expectEqualLists(BruteForce.swing(events: events, parameters: p, k: 15), modelLists(model, .swing), tolerance: 1e-9)
    }

    /// In the unbounded stream every term is added exactly once.
    @Test func streamingAddsEachTermOnce() {
        let events = TestEvents.random(count: 3000, users: 80, items: 60, authors: 5, seed: 5)
        var p = SwingParameters()
        p.minUserBehavior = 3; p.maxUserBehavior = 10_000; p.streamingUserWindow = 0; p.refreshRows = 0
        var model = CFModel(parameters: ModelParameters(algorithms: [.swing], swing: p))
        for e in events { model.apply(e) }
        let swing = model.swing!
        var expected = 0
        let sets = swing.userItems.map(Set.init)
        for u in sets.indices where sets[u].count >= 3 {
            for v in (u + 1)..<sets.count where sets[v].count >= 3 {
                let s = sets[u].intersection(sets[v]).count
                expected += s * (s - 1) / 2
            }
        }
        #expect(swing.termsAdded == expected)
    }

    @Test func rebuildMakesStreamingEqualBatch() {
        let events = TestEvents.random(count: 4000, users: 100, items: 70, authors: 5, seed: 8)
        var p = SwingParameters()
        p.minUserBehavior = 4
        var streamed = CFModel(parameters: ModelParameters(algorithms: [.swing], k: 20, swing: p))
        for e in events { streamed.apply(e) }
        var batch = CFModel(parameters: ModelParameters(algorithms: [.swing], k: 20, swing: p))
        batch.setSwingIncremental(false)
        for e in events { batch.apply(e) }
        batch.rebuildSwing()
        streamed.rebuildSwing()
        let a = modelLists(streamed, .swing), b = modelLists(batch, .swing)
        #expect(a.keys.sorted() == b.keys.sorted())
        for (id, list) in a { #expect(list.map(\.id) == b[id]!.map(\.id) && list.map(\.score) == b[id]!.map(\.score)) }
    }

    /// With the default refresh budget, a refresh of every waiting row makes the streamed
    /// lists the batch lists, without a rebuild; the events added no increments.
    @Test(arguments: [1000, 7])
    func refreshMakesStreamingExact(maxUsersPerItem: Int) {
        let events = TestEvents.random(count: 5000, users: 110, items: 80, authors: 5, seed: 13)
        var p = SwingParameters()
        p.minUserBehavior = 4; p.maxUserBehavior = 70; p.maxUserNumPerItem = maxUsersPerItem
        var streamed = CFModel(parameters: ModelParameters(algorithms: [.swing], k: 20, swing: p))
        for (n, e) in events.enumerated() {
            streamed.apply(e)
            if n % 700 == 0 { streamed.refreshSwing(threads: 3) }
        }
        streamed.refreshSwing(threads: 2, everything: true)
        #expect(streamed.swing!.termsAdded == 0)
        #expect(streamed.swing!.stale.isEmpty)
        expectEqualLists(BruteForce.swing(events: events, parameters: p, k: 20), modelLists(streamed, .swing), tolerance: 1e-9)
    }

    /// Under a small budget, at every moment each row that is not waiting equals its exact
    /// row, rows beyond the budget take increments, and the queue drains oldest first.
    @Test func rowsOutsideTheQueueAreExact() {
        let events = TestEvents.random(count: 4000, users: 90, items: 60, authors: 5, seed: 31)
        var p = SwingParameters()
        p.minUserBehavior = 3; p.maxUserBehavior = 10_000; p.refreshRows = 9; p.streamingUserWindow = 0
        var model = CFModel(parameters: ModelParameters(algorithms: [.swing], k: 1000, swing: p))
        for (n, e) in events.enumerated() {
            model.apply(e)
            guard n % 250 == 249 else { continue }
            let swing = model.swing!
            let front = Array(swing.stale.members.prefix(p.refreshRows))
            let (refreshed, waiting) = model.refreshSwing(threads: 2)!
            #expect(refreshed == front.count && waiting == swing.stale.count - front.count)
            #expect(!model.swing!.stale.members.contains { front.contains($0) })
            let exact = SwingScorer.rows(userItems: model.swing!.userItems, itemUsers: model.swing!.itemUsers,
                                         itemNames: model.items.names, parameters: p)
            for i in exact.indices where !model.swing!.stale.contains(UInt32(i)) {
                let row = model.list(.swing, of: UInt32(i))
                let expected = exact[i].sorted { $0.score != $1.score ? $0.score > $1.score : model.items.names[Int($0.neighbour)].utf8Precedes(model.items.names[Int($1.neighbour)]) }
                #expect(row.map(\.index) == expected.map(\.neighbour) && row.map(\.score) == expected.map(\.score), "row \(i) at event \(n)")
            }
        }
        #expect(model.swing!.termsAdded > 0)
        #expect(model.swing!.rowsRefreshed > 0)
    }

    @Test func samplerIsDeterministicAndKeepsOrder() {
        let users = (0..<5000).map { UInt32($0 * 3) }
        let a = SwingSampler.sample(users, item: "x", seed: 1, limit: 1000)
        #expect(a == SwingSampler.sample(users, item: "x", seed: 1, limit: 1000))
        #expect(a != SwingSampler.sample(users, item: "y", seed: 1, limit: 1000))
        #expect(a.count == 1000 && a == a.sorted() && Set(a).isSubset(of: Set(users)))
        #expect(SwingSampler.sample([4, 2], item: "x", seed: 1, limit: 2) == [4, 2])
    }
}
