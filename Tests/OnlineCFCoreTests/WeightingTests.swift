import Foundation
import Testing
import OnlineCFCore

@Suite struct WeightingTests {
    let weights = try! ActionWeights(parsing: "click=1,like=2,share=3,dislike=-1")

    func model(window: Int = 0, halfLife: Int64? = nil, algorithms: Set<Algorithm> = [.itemcfCosine, .itemcfCooccurrence, .u2uCosine]) -> CFModel {
        var p = ModelParameters(algorithms: algorithms, itemHistory: window, userHistory: window, k: 10_000)
        p.actionWeights = weights
        p.decayHalfLifeMillis = halfLife
        return CFModel(parameters: p)
    }

    func list(_ m: CFModel, _ a: Algorithm, _ id: String) -> [String: Double] {
        guard let i = m.index(of: id, kind: a.kind) else { return [:] }
        return Dictionary(uniqueKeysWithValues: m.list(a, of: i).map { (m.names(for: a.kind)[Int($0.index)], $0.score) })
    }

    /// Pair weight = largest action weight since the last negative action; C = Σ min.
    @Test func handComputedWeightsAndANegativeAction() {
        var m = model()
        for (u, i, a) in [("u1", "a", "like"), ("u1", "b", "click"), ("u2", "a", "share"), ("u2", "b", "share"), ("u2", "c", "click"), ("u2", "a", "click")] {
            m.apply(Event(user: u, item: i, action: a))
        }
        // C(a,b) = min(2,1) + min(3,3) = 4, deg a = 5, deg b = 4; C(a,c) = min(3,1) = 1, deg c = 1.
        #expect(list(m, .itemcfCooccurrence, "a") == ["b": 4, "c": 1])
        #expect(list(m, .itemcfCosine, "a") == ["b": 4 / (5.0 * 4).squareRoot(), "c": 1 / 5.0.squareRoot()])
        m.apply(Event(user: "u2", item: "b", action: "dislike"))
        // u2's b weighs 0: C(a,b) = 1, C(b,c) = 0 (gone), deg b = 1.
        #expect(list(m, .itemcfCooccurrence, "a") == ["b": 1, "c": 1])
        #expect(list(m, .itemcfCooccurrence, "c") == ["a": 1])
        #expect(list(m, .itemcfCosine, "b") == ["a": 1 / 5.0.squareRoot()])
        m.apply(Event(user: "u2", item: "b", action: "click"))
        // Back with weight 1 (the largest since the dislike): C(a,b) = 1 + 1, C(b,c) = 1.
        #expect(list(m, .itemcfCooccurrence, "a") == ["b": 2, "c": 1])
        #expect(list(m, .itemcfCooccurrence, "c") == ["a": 1, "b": 1])
        // u2u uses the same weights: C(u1,u2) = min over shared items = min(2,3) + min(1,1).
        // deg u1 = 2 + 1, deg u2 = 3 + 1 + 1.
        #expect(list(m, .u2uCosine, "u1") == ["u2": 3 / (3.0 * 5).squareRoot()])
    }

    /// Disliking every item of a user leaves exactly the lists of a stream without that
    /// user (integer weights: exact in Double).
    @Test func negativeActionsRemovePairsExactly() throws {
        var g = try EventGenerator(configuration: GeneratorConfiguration(events: 4000, users: 150, items: 60, seed: 8))
        var events: [Event] = []
        while let e = g.next() { events.append(Event(user: e.user, item: e.item, action: ["click", "like", "share"][abs(e.item.hashValue) % 3])) }
        for window in [0, 5] {
            let victim = events[0].user
            var with = model(window: window), without = model(window: window)
            for e in events { with.apply(e); if e.user != victim { without.apply(e) } }
            for item in Set(events.filter { $0.user == victim }.map(\.item)) { with.apply(Event(user: victim, item: item, action: "dislike")) }
            for a in [Algorithm.itemcfCosine, .itemcfCooccurrence] {
                for item in without.items.names {
                    #expect(list(with, a, item) == list(without, a, item), "window \(window), \(a), \(item)")
                }
            }
        }
    }

    /// Forward decay equals direct decay within 1e-12 relative over a long stream: 30,000
    /// events spanning about 2,000 half-lives (landmark moves included), weights, bounded
    /// and unbounded windows. With negative actions too, a removed contribution can leave
    /// a rounding residue of about 1e-16 of itself: then the bound is 1e-12 of the row's
    /// largest count.
    @Test(arguments: [(0, false), (8, false), (0, true), (8, true)])
    func forwardDecayEqualsDirectDecay(window: Int, negatives: Bool) {
        let h: Int64 = 60_000
        do {
            var m = model(window: window, halfLife: h, algorithms: [.itemcfCooccurrence, .itemcfCosine])
            var rng = SplitMix64(seed: 77)
            var t: Int64 = 1_700_000_000_000
            var order: [String: [String]] = [:]
            var state: [String: (w: Double, t: Int64)] = [:]
            for _ in 0..<30_000 {
                t += Int64(rng.next() % 8_000)
                let u = "u\(rng.next() % 40)", i = "i\(rng.next() % 30)"
                let action = ["click", "like", "share", "click", "like", negatives ? "dislike" : "share"][Int(rng.next() % 6)]
                m.apply(Event(user: u, item: i, action: action, timestampMillis: t))
                let key = u + "|" + i
                if state[key] == nil { order[u, default: []].append(i) }
                let w = weights.weight(of: action)
                let old = state[key]
                state[key] = w < 0 ? (0, old?.t ?? t) : (max(old?.w ?? 0, w), t)
            }
            let now = t
            func d(_ u: String, _ i: String) -> Double { let s = state[u + "|" + i]!; return s.w * pow(2, -Double(now - s.t) / Double(h)) }
            var c: [String: [String: Double]] = [:], degree: [String: Double] = [:]
            for (u, items) in order {
                for (p, i) in items.enumerated() {
                    degree[i, default: 0] += d(u, i)
                    for (q, j) in items.enumerated() where q != p && (window == 0 || abs(p - q) <= window) {
                        c[i, default: [:]][j, default: 0] += min(d(u, i), d(u, j))
                    }
                }
            }
            var checked = 0
            for i in m.items.names {
                let got = list(m, .itemcfCooccurrence, i)
                let expected = (c[i] ?? [:]).filter { $0.value > 0 }
                let rowMax = expected.values.max() ?? 0
                if !negatives { #expect(Set(got.keys) == Set(expected.keys), "window \(window), \(i)") }
                for (j, v) in expected {
                    let x = got[j] ?? 0
                    #expect(abs(x - v) <= 1e-12 * (negatives ? rowMax : v), "window \(window): C(\(i),\(j)) \(x) vs \(v)")
                    checked += 1
                }
                for (j, v) in got where expected[j] == nil { #expect(v <= 1e-12 * rowMax, "window \(window): C(\(i),\(j)) \(v) should be 0") }
                if negatives { continue }
                for (j, v) in list(m, .itemcfCosine, i) {
                    let e = c[i]![j]! / (degree[i]! * degree[j]!).squareRoot()
                    #expect(abs(v - e) <= 1e-12 * e, "window \(window): cosine(\(i),\(j)) \(v) vs \(e)")
                }
            }
            #expect(checked > 100)
        }
    }
}
