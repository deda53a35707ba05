import Foundation
import Testing
import OnlineCFCore
import OnlineCFTestSupport

/// TTL expiry (`--ttl`): ids idle for longer than the TTL in event time leave the
/// statistics, on hand-computed examples and against a brute force over the events that
/// survive expiry.
@Suite struct TTLTests {
    static let minute: Int64 = 60_000

    func model(ttl: Int64?, window: Int = 0, algorithms: Set<Algorithm> = [.itemcfCooccurrence, .itemcfCosine, .u2uCosine], recall: Bool = false) -> CFModel {
        var p = ModelParameters(algorithms: algorithms, itemHistory: window, userHistory: window, k: 10_000)
        p.ttlMillis = ttl
        if recall { p.recall = RecallParameters(blend: RecallBlend(.itemcfCosine)) }
        return CFModel(parameters: p)
    }

    func list(_ m: CFModel, _ a: Algorithm, _ id: String) -> [String: Double] {
        guard let i = m.index(of: id, kind: a.kind) else { return [:] }
        return Dictionary(uniqueKeysWithValues: m.list(a, of: i).map { (m.names(for: a.kind)[Int($0.index)], $0.score) })
    }

    func e(_ u: String, _ i: String, _ minutes: Int64) -> Event { Event(user: u, item: i, timestampMillis: minutes * Self.minute) }

    /// Item c is last seen at minute 1; TTL 10 min. At minute 12 (12 − 1 > 10) it expires:
    /// it leaves a's and b's lists and loses its own.
    @Test func idleItemLeavesEveryListAndLosesItsOwn() {
        var m = model(ttl: 10 * Self.minute)
        for ev in [e("u1", "a", 0), e("u1", "c", 1), e("u2", "a", 2), e("u2", "b", 3), e("u2", "c", 1), e("u3", "a", 5), e("u3", "b", 6)] { m.apply(ev) }
        // C(a,b) = 2 (u2, u3), C(a,c) = 2 (u1, u2), C(b,c) = 1 (u2).
        #expect(list(m, .itemcfCooccurrence, "a") == ["b": 2, "c": 2])
        #expect(list(m, .itemcfCooccurrence, "c") == ["a": 2, "b": 1])
        m.apply(e("u3", "a", 11))  // 11 − 1 = 10: not longer than the TTL, c stays.
        #expect(list(m, .itemcfCooccurrence, "c") == ["a": 2, "b": 1])
        _ = m.changedEntities(full: false); m.clearChanges(full: false)
        m.apply(e("u3", "b", 12))  // 12 − 1 > 10: c expires (so does u1, last seen at 1).
        #expect(m.expiredItems == 1 && m.expiredUsers == 1)
        #expect(m.lastSeen(item: "c") == nil && m.lastSeen(user: "u1") == nil)
        #expect(list(m, .itemcfCooccurrence, "c") == [:])
        // u1's basket {a, c} is gone and c left u2's: C(a,b) = 2, deg a = 2 (u2, u3), deg b = 2.
        #expect(list(m, .itemcfCooccurrence, "a") == ["b": 2])
        #expect(list(m, .itemcfCooccurrence, "b") == ["a": 2])
        #expect(list(m, .itemcfCosine, "a") == ["b": 2 / (2.0 * 2).squareRoot()])
        // The lists that changed are up for emission, c's (now empty) among them.
        let changed = m.changedEntities(full: false).first { $0.0 == .algorithm(.itemcfCooccurrence) }!.1
        #expect(Set(changed.map { m.items.names[Int($0)] }) == ["a", "b", "c"])
        // u2u: u1 (expired) leaves u2's list; u2 and u3 share a and b.
        #expect(list(m, .u2uCosine, "u1") == [:])
        #expect(list(m, .u2uCosine, "u2") == ["u3": 2 / (2.0 * 2).squareRoot()])
    }

    /// A user idle past the TTL: their co-occurrence contributions leave exactly; an id
    /// that comes back starts from scratch.
    @Test func idleUserIsRemovedAndComesBackFromScratch() {
        var m = model(ttl: 5 * Self.minute)
        for ev in [e("u1", "a", 0), e("u1", "b", 0), e("u2", "a", 1), e("u2", "b", 1), e("u2", "c", 4), e("u3", "c", 4), e("u3", "a", 6)] { m.apply(ev) }
        // At minute 6 u1 (last seen 0, 6 − 0 > 5) expires; items a, b, c are live (b: u2 at 1,
        // 6 − 1 = 5 is not longer). C(a,b) = 1 (u2 only), C(a,c) = 2 (u2, u3).
        #expect(m.expiredUsers == 1 && m.expiredItems == 0)
        #expect(list(m, .itemcfCooccurrence, "a") == ["b": 1, "c": 2])
        #expect(list(m, .u2uCosine, "u1") == [:])
        // u1 comes back with c only: a fresh basket {c}, nothing of a or b.
        m.apply(e("u1", "c", 7))  // b expires too now (7 − 1 > 5), and u2 (last seen 4) does not.
        #expect(m.expiredItems == 1)
        #expect(list(m, .itemcfCooccurrence, "c") == ["a": 2])
        #expect(list(m, .u2uCosine, "u1") == ["u2": 1 / (1.0 * 2).squareRoot(), "u3": 1 / (1.0 * 2).squareRoot()])
        m.apply(e("u1", "b", 8))  // b comes back: only u1's pairs, not u2's old one.
        #expect(list(m, .itemcfCooccurrence, "b") == ["c": 1])
        #expect(m.pairCount == 6)  // u2: a, c; u3: c, a; u1: c, b.
    }

    /// The events that survive expiry, computed naively: an id expires when the clock
    /// (latest event time) passes its latest event by more than the TTL, and every event
    /// of it is dropped.
    static func surviving(_ events: [Event], ttl: Int64) -> [Event] {
        var kept: [Event] = []
        var lastUser: [String: Int64] = [:], lastItem: [String: Int64] = [:]
        var clock = Int64.min
        for ev in events {
            let t = ev.timestampMillis!
            if t > clock {
                clock = t
                let deadUsers = Set(lastUser.filter { $0.value < t - ttl }.keys), deadItems = Set(lastItem.filter { $0.value < t - ttl }.keys)
                for u in deadUsers { lastUser[u] = nil }
                for i in deadItems { lastItem[i] = nil }
                kept.removeAll { deadUsers.contains($0.user) || deadItems.contains($0.item) }
            }
            lastUser[ev.user] = max(lastUser[ev.user] ?? t, t)
            lastItem[ev.item] = max(lastItem[ev.item] ?? t, t)
            kept.append(ev)
        }
        return kept
    }

    func generated(_ n: Int, seed: UInt64) throws -> [Event] {
        var g = try EventGenerator(configuration: GeneratorConfiguration(events: n, users: 120, items: 50, seed: seed))
        var events: [Event] = []
        while let ev = g.next() {
            // Event times in minutes with jitter (some out of order), over about 3 000 minutes.
            let t = Int64(events.count) * 45_000 + Int64(abs(ev.item.hashValue) % 5) * 60_000
            events.append(Event(user: ev.user, item: ev.item, timestampMillis: t))
        }
        return events
    }

    /// Every score equals the exact formula over the surviving events (integer counts:
    /// exact in Double), for every algorithm TTL covers.
    @Test func scoresEqualBruteForceOverSurvivingEvents() throws {
        let events = try generated(4000, seed: 3)
        for ttl in [30 * Self.minute, 120 * Self.minute] {
            var m = model(ttl: ttl, algorithms: [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .u2uCosine])
            for ev in events { m.apply(ev) }
            let kept = Self.surviving(events, ttl: ttl)
            #expect(kept.count < events.count && m.expiredUsers > 0 && m.expiredItems > 0)
            #expect(m.pairCount == Set(kept.map { [$0.user, $0.item] }).count)
            for a in [Algorithm.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .u2uCosine] {
                let expected = BruteForce.lists(events: kept, algorithm: a, k: 10_000)
                for id in m.names(for: a.kind) {
                    let want = Dictionary(uniqueKeysWithValues: (expected[id] ?? []).map { ($0.id, $0.score) })
                    #expect(list(m, a, id) == want, "ttl \(ttl), \(a), \(id)")
                }
            }
        }
    }

    /// With a TTL alone, ItemCF and u2u keep binary counts in removable counters; with
    /// every action weighing 1 the weighted counter runs instead. Both take expired pairs
    /// out exactly, so their lists are the same bit for bit while ids expire, windows and
    /// several partitions included. With nothing expiring, both equal the run without TTL.
    @Test func removableBinaryCounterEqualsTheWeightedOne() throws {
        let events = try generated(3000, seed: 5)
        let algos: Set<Algorithm> = [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift, .u2uCosine]
        for window in [0, 1, 5] {
            for (ttl, partitions) in [(60 * Self.minute, 1), (60 * Self.minute, 3), (1_000_000 * Self.minute, 1)] {
                var p = ModelParameters(algorithms: algos, itemHistory: window, userHistory: window, k: 10_000)
                p.ttlMillis = ttl
                var binary = CFModel(parameters: p, partitioning: ModelPartitioning(count: partitions))
                p.actionWeights = ActionWeights()
                var weighted = CFModel(parameters: p)
                for ev in events { binary.apply(ev); weighted.apply(ev) }
                binary.applyPendingPairs()
                #expect(binary.itemCF?.removable == true && binary.u2u?.removable == true && weighted.weightedItemCF != nil)
                #expect(binary.expiredItems == weighted.expiredItems && binary.expiredUsers == weighted.expiredUsers)
                var reference = model(ttl: nil, window: window, algorithms: algos)
                if binary.expiredItems == 0 {
                    for ev in events { reference.apply(ev) }
                } else {
                    #expect(binary.expiredItems > 100 && binary.expiredUsers > 10)
                }
                for a in algos {
                    for id in binary.names(for: a.kind) {
                        #expect(list(binary, a, id) == list(weighted, a, id), "window \(window), ttl \(ttl), P \(partitions), \(a), \(id)")
                        if binary.expiredItems == 0 {
                            #expect(list(binary, a, id) == list(reference, a, id), "window \(window), \(a), \(id)")
                        }
                    }
                }
            }
        }
    }

    /// Replaying the logged events (what ``CFModel/apply(_:replaying:)`` returned) rebuilds
    /// the same state: expiry depends on event time only. Windows and recall included.
    @Test func replayReproducesTheState() throws {
        let events = try generated(3000, seed: 9)
        for window in [0, 5] {
            var original = model(ttl: 60 * Self.minute, window: window, algorithms: [.itemcfCosine, .u2uCosine, .swing], recall: true)
            var log: [Event] = []
            for ev in events + events.prefix(200) { if let applied = original.apply(ev) { log.append(applied) } }
            var replayed = model(ttl: 60 * Self.minute, window: window, algorithms: [.itemcfCosine, .u2uCosine, .swing], recall: true)
            for ev in log { replayed.apply(ev, replaying: true) }
            #expect(original.expiredItems > 0 && replayed.expiredItems == original.expiredItems && replayed.expiredUsers == original.expiredUsers)
            #expect(replayed.pairCount == original.pairCount)
            for a in [Algorithm.itemcfCosine, .u2uCosine, .swing] {
                for id in original.names(for: a.kind) { #expect(list(replayed, a, id) == list(original, a, id)) }
            }
            for u in original.users.names.indices {
                #expect(replayed.recentList(of: UInt32(u)).map(\.index) == original.recentList(of: UInt32(u)).map(\.index))
            }
        }
    }

    /// Recall and Swing: an expired item leaves users' recent items and every Swing row.
    @Test func recallAndSwingForgetExpiredIds() {
        var p = ModelParameters(algorithms: [.swing], k: 100)
        p.swing.minUserBehavior = 1; p.swing.alpha1 = 1
        p.ttlMillis = 10 * Self.minute
        p.recall = RecallParameters(blend: RecallBlend(.swing))
        var m = CFModel(parameters: p)
        for ev in [e("u1", "a", 0), e("u1", "b", 0), e("u2", "a", 1), e("u2", "b", 1), e("u1", "c", 5), e("u2", "c", 5), e("u3", "c", 5)] { m.apply(ev) }
        m.refreshSwing()
        #expect(!list(m, .swing, "a").isEmpty)
        m.apply(e("u3", "c", 12))  // a and b (last seen 1) expire; u1, u2 (last seen 5) do not.
        #expect(m.expiredItems == 2 && m.expiredUsers == 0)
        #expect(list(m, .swing, "a") == [:] && list(m, .swing, "c")["a"] == nil && list(m, .swing, "c")["b"] == nil)
        m.refreshSwing()
        #expect(list(m, .swing, "a") == [:] && list(m, .swing, "c")["a"] == nil && list(m, .swing, "c")["b"] == nil)
        let u1 = m.index(of: "u1", kind: .u2u)!
        #expect(m.recentList(of: u1).map { m.items.names[Int($0.index)] } == ["c"])
        #expect(m.swing!.userItems[Int(u1)].map { m.items.names[Int($0)] } == ["c"])
    }

    /// An expired user's recent items are gone and the user is marked changed for the
    /// recall families, so the next emission deletes its recent and u2i2i lists.
    @Test func anExpiredUserIsMarkedForRecall() {
        var m = model(ttl: 10 * Self.minute, algorithms: [.itemcfCosine], recall: true)
        for ev in [e("u1", "a", 0), e("u1", "c", 1), e("u2", "a", 2), e("u2", "b", 3), e("u2", "c", 1), e("u3", "a", 5), e("u3", "b", 6)] { m.apply(ev) }
        m.clearChanges(full: false)
        m.apply(e("u3", "b", 12))
        #expect(m.expiredUsers == 1 && m.expiredItems == 1)
        let u1 = m.index(of: "u1", kind: .u2u)!
        #expect(m.recentList(of: u1).isEmpty)
        let changed = Dictionary(m.changedEntities(full: false).map { ($0.0, $0.1) }, uniquingKeysWith: +)
        #expect(changed[.recent]?.contains(u1) == true)
        #expect(changed[.u2i2i]?.contains(u1) == true)
        let all = Dictionary(m.changedEntities(full: true).map { ($0.0, $0.1) }, uniquingKeysWith: +)
        #expect(all[.recent]?.contains(u1) == true && all[.u2i2i]?.contains(u1) == true)
    }
}
