import Foundation
import Testing
import OnlineCFCore
import OnlineCFTestSupport

/// A hand-computed log: in the first half four users take a then b; in the second half u5
/// (new) takes a then b, and u1, u2, u3 each take a new pair x then y — a pair only lists
/// refreshed after the split can know. One event per minute, all in one hour.
@Suite struct ReplayEvaluatorTests {
    static let hour: Int64 = 1_699_999_200_000   // a multiple of 1 h (and of 5 min)

    static func e(_ u: String, _ i: String, _ minute: Int64?) -> Event {
        Event(user: u, item: i, timestampMillis: minute.map { hour + $0 * 60_000 })
    }

    static let log: [Event] = {
        var out: [Event] = []
        var m: Int64 = 0
        for u in ["u1", "u2", "u3", "u4"] { for i in ["a", "b"] { out.append(e(u, i, m)); m += 1 } }   // 0-7: first half
        for (u, i) in [("u5", "a"), ("u5", "b"), ("u1", "x"), ("u1", "y"), ("u2", "x"), ("u2", "y"), ("u3", "x"), ("u3", "y")] {
            out.append(e(u, i, m)); m += 1   // 8-15: scored
        }
        out.append(e("u1", "a", 16))   // 16: a repeat, not scored
        out.append(e("u9", "z", nil))  // no timestamp: left out
        return out
    }()

    func evaluate(_ policies: [RefreshPolicy], seeds: SeedTiming = .refresh, algorithms: [Algorithm] = [.itemcfCooccurrence],
                  threads: Int = 1) -> ReplayResult {
        var c = ReplayConfiguration(algorithms: algorithms)
        c.policies = policies
        c.seeds = seeds
        c.threads = threads
        return ReplayEvaluator.run(ReplayLog(Self.log), c)
    }

    func hits(_ v: ReplayVariantResult, _ channel: ReplayChannel) -> Int { v.cell(.itemcfCooccurrence, channel)!.hits }

    @Test func scoredEventsAreTheSecondHalfWithoutRepeats() {
        let r = evaluate([.frozen])
        #expect(r.events == 17 && r.untimed == 1)
        #expect(r.splitIndex == 8)   // ⌊17 · 0.5⌋
        #expect(r.scored == 8 && r.repeats == 1 && r.scoredUsers == 4)
    }

    /// Δ = 1 min: every event is in its own minute, so each query sees every earlier event.
    @Test func freshListsCatchTheNewPair() {
        let v = evaluate([.every(millis: 60_000)]).variants[0]
        // 8: u5 has no earlier item (unanswered). 9: a → b. 10, 11: x, y unknown before u1.
        // 12-15: u1 (then u2) made x–y co-occur, and b–x.
        #expect(v.answered == 7)
        #expect(hits(v, .i2i) == 5 && hits(v, .u2i2i) == 5)
        #expect(v.refreshes == 16)   // one per minute with buffered events (the first has none)
        let cell = v.cell(.itemcfCooccurrence, .i2i)!
        #expect(cell.hitRate == 5.0 / 8)
        let expected: Double = (0.5 + 0 + 1 + 1) / 4   // u5, u1, u2, u3
        #expect(cell.userAveragedHitRate == expected)
    }

    /// Frozen after the first half: x and y never existed, u5 is unknown.
    @Test func frozenListsMissIt() {
        let v = evaluate([.frozen]).variants[0]
        #expect(v.answered == 6)   // u1, u2, u3's events; u5 is not in the state
        #expect(hits(v, .i2i) == 0 && hits(v, .u2i2i) == 0)
        #expect(v.refreshes == 1)
    }

    /// Δ = 5 min: a query at minute m sees the events before ⌊m/5⌋·5.
    @Test func refreshBoundaries() {
        let v = evaluate([.every(millis: 300_000)]).variants[0]
        // m8, m9 see m0-4 (u5 unknown); m10-14 see m0-9 (x, y unknown); m15 sees m0-14:
        // u3's last item is x (m14) and x–y co-occur twice.
        #expect(v.answered == 6)
        #expect(hits(v, .i2i) == 1 && hits(v, .u2i2i) == 1)
        #expect(v.refreshes == 3)   // at m5, m10, m15 (m16's window holds m15, applied after)
        let cell = v.cell(.itemcfCooccurrence, .i2i)!
        let expected: Double = 0.5 / 4
        #expect(cell.userAveragedHitRate == expected)
        // Δ = 1 h: everything is in one hour, so nothing is ever applied.
        let h = evaluate([.every(millis: 3_600_000)]).variants[0]
        #expect(h.answered == 0 && h.refreshes == 0 && hits(h, .i2i) == 0)
    }

    /// Live seeds: the user's own events count at once; the lists still lag.
    @Test func liveSeeds() {
        let r = evaluate([.every(millis: 300_000), .frozen], seeds: .live)
        let five = r.variants[0], frozen = r.variants[1]
        // Δ = 5 min: 9 (u5 has a; a–b in m0-4 from u1, u2) and 15 hit; 11 and 13 ask x's
        // list, not in the state yet.
        #expect(five.answered == 7 && hits(five, .i2i) == 2 && hits(five, .u2i2i) == 2)
        // Frozen: only 9 (a → b was learned in the first half).
        #expect(frozen.answered == 7 && hits(frozen, .i2i) == 1 && hits(frozen, .u2i2i) == 1)
    }

    /// u2i2i leaves out what the user had; i2i does not filter (the list of the last item).
    @Test func u2i2iExcludesSeenItems() {
        // u1 takes a, b, c; u2 takes a, c, then b: before b, u2's i2i list of c (its last
        // item) holds a and b; u2i2i from {a, c} returns b only.
        let events = [Self.e("u1", "a", 0), Self.e("u1", "b", 1), Self.e("u1", "c", 2), Self.e("u2", "a", 3), Self.e("u2", "c", 4), Self.e("u2", "b", 5)]
        var c = ReplayConfiguration(algorithms: [.itemcfCooccurrence])
        c.policies = [.every(millis: 60_000)]
        c.split = 0.9   // ⌊6 · 0.9⌋ = 5: only the last event is scored
        c.n = 1
        let v = ReplayEvaluator.run(ReplayLog(events), c).variants[0]
        #expect(v.answered == 1)
        #expect(hits(v, .i2i) == 0)     // list(c) = [a (2), b (1)]: top-1 is a
        #expect(hits(v, .u2i2i) == 1)   // a is seen: b is first
    }

    @Test func threadsDoNotChangeResults() {
        let one = evaluate(RefreshPolicy.defaults + [.every(millis: 300_000)], algorithms: [.itemcfCosine, .swing], threads: 1)
        let two = evaluate(RefreshPolicy.defaults + [.every(millis: 300_000)], algorithms: [.itemcfCosine, .swing], threads: 2)
        #expect(one.variants.map(\.cells) == two.variants.map(\.cells))
        #expect(one.variants.map(\.answered) == two.variants.map(\.answered))
    }

    @Test func logIsStableSortedByTime() {
        let log = ReplayLog([Self.e("u1", "b", 5), Self.e("u2", "a", 1), Self.e("u3", "c", 5), Self.e("u4", "d", nil), Self.e("u1", "b", 0)])
        #expect(log.events.map(\.user) == ["u1", "u2", "u1", "u3"])
        #expect(log.isRepeat == [false, false, true, false])
        #expect(log.untimed == 1)
        #expect(log.itemNames.names == ["b", "a", "c"])
    }

    @Test func policies() {
        #expect(RefreshPolicy(parsing: "1m") == .every(millis: 60_000))
        #expect(RefreshPolicy(parsing: "500ms") == .every(millis: 500))
        #expect(RefreshPolicy(parsing: "1d") == .every(millis: 86_400_000))
        #expect(RefreshPolicy(parsing: "frozen") == .frozen)
        #expect(RefreshPolicy(parsing: "0s") == nil && RefreshPolicy(parsing: "1w") == nil && RefreshPolicy(parsing: "m") == nil)
        #expect(RefreshPolicy.defaults.map(\.description) == ["1m", "1h", "1d", "frozen"])
        #expect(RefreshPolicy.every(millis: 90_000).description == "90s")
    }

    @Test func reportRendersTableAndChart() {
        let r = evaluate(RefreshPolicy.defaults, algorithms: [.itemcfCosine, .itemcfJaccard])
        let table = ReplayReport.table(r, source: "tiny.inter")
        #expect(table.contains("itemcf:cosine   u2i2i"))
        #expect(table.contains("Δ=1m") && table.contains("frozen"))
        #expect(table.contains("62.50 (62.50)"))   // Δ = 1 min, as above
        let svg = ReplayReport.svg(r, source: "a&b.inter")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("a&amp;b.inter") && svg.ranges(of: "<polyline").count == 4)
        #expect(ReplayReport.fixed(12.345, 2) == "12.35" || ReplayReport.fixed(12.345, 2) == "12.34")
        #expect(ReplayReport.fixed(0.5, 0) == "1" && ReplayReport.fixed(3.14159, 2) == "3.14" && ReplayReport.fixed(0.07, 2) == "0.07")
        #expect(ReplayReport.grouped(1_234_567) == "1,234,567" && ReplayReport.grouped(999) == "999")
    }
}

/// On MovieLens-100K, frozen lists: the evaluator's hits equal a direct computation with a
/// model of the first half, its ``CFModel/list(_:of:)`` and its own ``CFModel/recallList``.
@Suite struct ReplayEvaluatorML100KTests {
    static let path = SharedData.ml100k

    @Test(.enabled(if: SharedData.ml100k != nil, "../shared/data/ml-100k.inter is absent"))
    func frozenHitsEqualADirectComputation() throws {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.path!)))
        var decoder = try EventDecoder(format: .inter)
        var events: [Event] = []
        for (n, line) in data.split(separator: 0x0A).enumerated() {
            if case .event(let e) = decoder.decode(Array(line), lineNumber: n + 1) { events.append(e) }
        }
        let log = ReplayLog(events)
        #expect(log.count == 100_000)
        var c = ReplayConfiguration(algorithms: [.itemcfCosine])
        c.policies = [.frozen]
        c.recentItems = 0   // every item is a seed and is "seen", as in the model's own recall
        let v = ReplayEvaluator.run(log, c).variants[0]

        // Direct: the model of the first half, with its own recall.
        var p = ModelParameters(algorithms: [.itemcfCosine])
        var r = RecallParameters(blend: RecallBlend(.itemcfCosine))
        r.recentItems = 0
        p.recall = r
        var model = CFModel(parameters: p)
        var last: [String: String] = [:]
        for e in log.events[..<50_000] { model.apply(e); last[e.user] = e.item }
        var i2i = 0, u2i2i = 0, answered = 0
        var composer = U2I2IComposer(blend: r.blend, options: r.options)
        var cache: [Algorithm: [UInt32: [ScoredNeighbor]]] = [:]
        var recalls: [String: Set<String>] = [:]
        for e in log.events[50_000...] {
            guard let item = last[e.user] else { continue }
            answered += 1
            let list = model.list(.itemcfCosine, of: model.items.index(of: item)!).map { model.items.names[Int($0.index)] }
            if list.contains(e.item) { i2i += 1 }
            if recalls[e.user] == nil {
                let u = model.users.index(of: e.user)!
                recalls[e.user] = Set(model.recallList(of: u, composer: &composer, cache: &cache).map { model.items.names[Int($0.index)] })
            }
            if recalls[e.user]!.contains(e.item) { u2i2i += 1 }
        }
        #expect(v.answered == answered)
        #expect(v.cell(.itemcfCosine, .i2i)!.hits == i2i)
        #expect(v.cell(.itemcfCosine, .u2i2i)!.hits == u2i2i)
        #expect(i2i > 0 && u2i2i > 0)
    }
}
