import Testing
import OnlineCFCore

@Suite struct AdmissionTests {
    @Test func sketchNeverUndercountsAndRoundTrips() {
        var sketch = CountMinSketch(depth: 4, width: 1024)
        var truth: [String: Int] = [:]
        var rng = SplitMix64(seed: 4)
        for _ in 0..<20_000 {
            let id = "id\(rng.next() % 3000)"
            sketch.add(id)
            truth[id, default: 0] += 1
        }
        for (id, n) in truth { #expect(sketch.estimate(id) >= min(n, 255)) }
        #expect(CountMinSketch(bytes: sketch.bytes, depth: 4, width: 1024) == sketch)
        #expect(CountMinSketch(bytes: [1, 2, 3]) == nil)
    }

    /// With admit-after 2, an id enters at its second event; events before are left out.
    @Test func idsEnterAtTheirNthEvent() {
        var p = ModelParameters(algorithms: [.itemcfCooccurrence])
        p.admitAfter = 2
        var m = CFModel(parameters: p)
        let applied = [("u1", "a"), ("u1", "a"), ("u2", "a"), ("u2", "b"), ("u2", "b")].map { m.apply(Event(user: $0.0, item: $0.1)) != nil }
        // 1: u1 and a seen once. 2: both twice, applied. 3: u2 once. 4: u2 twice, b once. 5: both admitted.
        #expect(applied == [false, true, false, false, true])
        #expect(m.pairCount == 2 && m.eventsBeforeAdmission == 3)
        #expect(m.items.names == ["a", "b"] && m.users.names == ["u1", "u2"])
    }
}

@Suite struct HotUserGuardTests {
    /// A user's state-changing events beyond the limit in one window are left out;
    /// repeats of a known pair do not count; the next window starts afresh.
    @Test func eventsBeyondTheLimitAreLeftOut() {
        var p = ModelParameters(algorithms: [.itemcfCooccurrence], itemHistory: 0)
        p.hotUserLimit = 2
        p.hotUserWindowMillis = 3_600_000
        var m = CFModel(parameters: p)
        let minute: Int64 = 60_000
        for (n, item) in ["a", "b", "a", "c", "d"].enumerated() { m.apply(Event(user: "bot", item: item, timestampMillis: Int64(n) * minute)) }
        m.apply(Event(user: "bot", item: "e", timestampMillis: 61 * minute))
        #expect(m.hotUserEvents == 2)   // c and d
        let a = m.index(of: "a", kind: .i2i)!
        #expect(Set(m.list(.itemcfCooccurrence, of: a).map { m.items.names[Int($0.index)] }) == ["b", "e"])
    }

    /// Replaying what the model logged (admission and hot-user guard on), with the sketch
    /// put back, rebuilds the same state: lists and counters.
    @Test func replayRebuildsTheSameState() throws {
        var p = ModelParameters(algorithms: [.itemcfCosine, .u2uCosine], k: 100)
        p.admitAfter = 3
        p.hotUserLimit = 15
        p.hotUserWindowMillis = 600_000
        var live = CFModel(parameters: p)
        var log: [Event] = []
        var g = try EventGenerator(configuration: GeneratorConfiguration(events: 6000, users: 120, items: 200, seed: 5))
        var all: [Event] = []
        while let e = g.next() { all.append(e) }
        for e in all.prefix(4000) { if let applied = live.apply(e) { log.append(applied) } }
        var restored = CFModel(parameters: p)
        for e in log { restored.apply(e, replaying: true) }
        restored.restoreAdmissionSketch(live.admissionSketch!)
        for e in all.suffix(2000) { live.apply(e); restored.apply(e) }
        #expect(live.hotUserEvents > 0 && live.eventsBeforeAdmission > 0)
        for a in [Algorithm.itemcfCosine, .u2uCosine] {
            for (i, name) in live.names(for: a.kind).enumerated() {
                let other = restored.index(of: name, kind: a.kind)
                let x = live.list(a, of: UInt32(i)).map { "\(live.names(for: a.kind)[Int($0.index)])=\($0.score)" }
                let y = other.map { restored.list(a, of: $0).map { "\(restored.names(for: a.kind)[Int($0.index)])=\($0.score)" } } ?? []
                #expect(x == y, "\(a) \(name)")
            }
        }
    }
}
