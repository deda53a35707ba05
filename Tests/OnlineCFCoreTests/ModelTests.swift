import Testing
import OnlineCFCore
import OnlineCFTestSupport

/// A tiny seeded generator, independent of the project's EventGenerator.
struct TestEvents {
    static func random(count: Int, users: Int, items: Int, authors: Int, seed: UInt64) -> [Event] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (0..<count).map { n in
            // Skewed: square of a uniform variable favours small ids.
            let r = Double(next() % 1_000_000) / 1_000_000
            let item = Int(r * r * Double(items))
            let user = Int(next() % UInt64(users))
            return Event(user: "u\(user)", item: "i\(item)", author: "a\(item % authors)", action: "click", timestampMillis: Int64(n))
        }
    }
}

func modelLists(_ model: CFModel, _ algorithm: Algorithm) -> [String: BruteForce.List] {
    var out: [String: BruteForce.List] = [:]
    let names = model.names(for: algorithm.kind)
    for (index, id) in names.enumerated() {
        let list = model.list(algorithm, of: UInt32(index))
        if !list.isEmpty { out[id] = list.map { (names[Int($0.index)], $0.score) } }
    }
    return out
}

func expectEqualLists(_ expected: [String: BruteForce.List], _ actual: [String: BruteForce.List], tolerance: Double = 1e-12,
                      sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(Set(expected.keys) == Set(actual.keys), "ids with lists differ", sourceLocation: sourceLocation)
    var failures = 0
    for (id, list) in expected {
        if let diff = BruteForce.difference(expected: list, actual: actual[id] ?? [], tolerance: tolerance) {
            failures += 1
            if failures <= 5 { Issue.record("list of \(id): \(diff)", sourceLocation: sourceLocation) }
        }
    }
    #expect(failures == 0, sourceLocation: sourceLocation)
}

@Suite struct ModelTests {
    @Test(arguments: [0, 3])
    func modelEqualsBruteForce(bound: Int) {
        let events = TestEvents.random(count: 3000, users: 150, items: 120, authors: 17, seed: 7)
        var parameters = ModelParameters(itemHistory: bound, userHistory: bound, authorHistory: bound, k: 20)
        if bound == 0 { parameters = parameters.exact() }
        var model = CFModel(parameters: parameters)
        for e in events { model.apply(e) }
        let bounds = BruteForce.Bounds(itemHistory: bound, userHistory: bound, authorHistory: bound)
        for algorithm in Algorithm.cooccurrenceAlgorithms {
            expectEqualLists(BruteForce.lists(events: events, algorithm: algorithm, k: 20, bounds: bounds), modelLists(model, algorithm))
        }
    }

    @Test func repeatedEventsChangeNothing() {
        let events = TestEvents.random(count: 500, users: 30, items: 40, authors: 5, seed: 3)
        var once = CFModel(parameters: ModelParameters().exact())
        for e in events { once.apply(e) }
        var twice = once
        var applied = 0
        for e in events where twice.apply(e) != nil { applied += 1 }
        #expect(applied == 0)
        for algorithm in Algorithm.allCases {
            #expect(modelLists(once, algorithm).mapValues { $0.map(\.score) } == modelLists(twice, algorithm).mapValues { $0.map(\.score) })
        }
    }

    /// With bounded windows the windows serve as dedupe (the pair set keeps only the pairs
    /// that left them): every event repeated — those still in a window and those pushed
    /// out long ago — changes nothing, through a snapshot too, and the pair count stays exact.
    @Test func repeatedEventsChangeNothingWhenTheWindowsServeAsDedupe() throws {
        let events = TestEvents.random(count: 3_000, users: 20, items: 300, authors: 60, seed: 8)
        let p = ModelParameters(algorithms: Set(Algorithm.cooccurrenceAlgorithms), itemHistory: 3, userHistory: 2, authorHistory: 2, k: 10)
        var once = CFModel(parameters: p)
        for e in events { once.apply(e) }
        let distinct = Set(events.map { [$0.user, $0.item] }).count
        #expect(once.pairCount == distinct)
        var twice = try CFModel(snapshot: once.snapshot(), parameters: p)
        #expect(twice.pairCount == distinct)
        var applied = 0
        for e in events.reversed() where twice.apply(e) != nil { applied += 1 }
        #expect(applied == 0)
        for algorithm in Algorithm.cooccurrenceAlgorithms {
            #expect(modelLists(once, algorithm).mapValues { $0.map(\.score) } == modelLists(twice, algorithm).mapValues { $0.map(\.score) })
        }
    }

    @Test func replayOfAppliedEventsRebuildsTheState() throws {
        let events = TestEvents.random(count: 2000, users: 80, items: 60, authors: 9, seed: 11)
        var live = CFModel(parameters: ModelParameters(k: 10))
        var log: [Event] = []
        for e in events { if let applied = live.apply(e) { log.append(applied) } }
        let decoded = try EventLogCodec.decode(EventLogCodec.encode(log))
        #expect(decoded == log)
        var replayed = CFModel(parameters: ModelParameters(k: 10))
        for e in decoded { replayed.apply(e) }
        for algorithm in Algorithm.allCases {
            let a = modelLists(live, algorithm), b = modelLists(replayed, algorithm)
            #expect(a.keys.sorted() == b.keys.sorted())
            for (id, list) in a { #expect(list.map(\.id) == b[id]!.map(\.id)); #expect(list.map(\.score) == b[id]!.map(\.score)) }
        }
    }

    @Test func changedEntitiesCoverEveryChangedList() {
        let events = TestEvents.random(count: 1500, users: 60, items: 50, authors: 7, seed: 5)
        var model = CFModel(parameters: ModelParameters().exact())
        for e in events.prefix(1000) { model.apply(e) }
        model.clearChanges(full: true)
        let before = Dictionary(uniqueKeysWithValues: Algorithm.allCases.map { ($0, modelLists(model, $0)) })
        for e in events.suffix(500) { model.apply(e) }
        var changed: [Algorithm: Set<String>] = [:]
        for (family, entities) in model.changedEntities(full: true) {
            guard case .algorithm(let algorithm) = family else { continue }
            let names = model.names(for: algorithm.kind)
            changed[algorithm] = Set(entities.map { names[Int($0)] })
        }
        for algorithm in Algorithm.allCases {
            let after = modelLists(model, algorithm)
            for id in Set(after.keys).union(before[algorithm]!.keys) {
                let old = before[algorithm]![id].map { $0.map(\.id) + $0.map { String($0.score) } }
                let new = after[id].map { $0.map(\.id) + $0.map { String($0.score) } }
                if old != new { #expect(changed[algorithm]?.contains(id) == true, "\(algorithm) list of \(id) changed but was not marked") }
            }
        }
    }

    @Test func authorIsTheFirstKnown() {
        var model = CFModel(parameters: ModelParameters())
        model.setAuthor(item: "x", author: "table")
        model.apply(Event(user: "u", item: "x", author: "event", action: nil, timestampMillis: nil))
        #expect(model.author(ofItem: "x") == "table")
        let applied = model.apply(Event(user: "v", item: "y", author: nil, action: nil, timestampMillis: nil))
        #expect(applied?.author == nil)
    }
}

@Suite struct PrimitiveTests {
    /// Increments and decrements in any order leave the row holding exactly the keys with
    /// a positive count (deletion keeps every probe run intact), and a row emptied and
    /// shrunk stays correct.
    @Test func countRowDecrementMatchesDictionary() {
        var row = CountRow()
        var reference: [UInt32: UInt32] = [:]
        var x: UInt32 = 777
        for step in 0..<60_000 {
            x = x &* 1_103_515_245 &+ 12345
            let key = (x >> 8) % (step < 40_000 ? 2000 : 300)
            if (x >> 4) % 3 == 0 || step >= 40_000, let c = reference[key] {
                row.decrement(key)
                reference[key] = c == 1 ? nil : c - 1
            } else if step < 40_000 {
                row.increment(key)
                reference[key, default: 0] += 1
            }
        }
        #expect(row.count == reference.count)
        var seen: [UInt32: UInt32] = [:]
        row.forEach { k, v in seen[k] = v }
        #expect(seen == reference)
        for key in 0..<2000 as Range<UInt32> { #expect(row.value(of: key) == reference[key] ?? 0) }
        for (key, c) in reference { for _ in 0..<c { row.decrement(key) } }
        #expect(row.count == 0)
        row.increment(5)
        #expect(row.value(of: 5) == 1)
    }

    @Test func countRowMatchesDictionary() {
        var row = CountRow()
        var reference: [UInt32: UInt32] = [:]
        var x: UInt32 = 12345
        for _ in 0..<20_000 {
            x = x &* 1_103_515_245 &+ 12345
            let key = (x >> 8) % 3000
            row.increment(key)
            reference[key, default: 0] += 1
        }
        #expect(row.count == reference.count)
        var seen: [UInt32: UInt32] = [:]
        row.forEach { k, v in seen[k] = v }
        #expect(seen == reference)
        #expect(row.value(of: 999_999) == 0)
    }

    @Test func topKBreaksTiesByIdBytes() {
        let names = ["b", "a", "c", "é", "aa", "10", "9"]
        var selector = TopKSelector(k: 4, names: names)
        for (i, s) in [1.0, 1.0, 2.0, 1.0, 1.0, 0.5, 0].enumerated() { selector.offer(UInt32(i), score: s) }
        let top = selector.take().map { names[Int($0.index)] }
        #expect(top == ["c", "a", "aa", "b"])
        var digits = TopKSelector(k: 2, names: names)
        digits.offer(5, score: 1); digits.offer(6, score: 1)
        #expect(digits.take().map { names[Int($0.index)] } == ["10", "9"])
    }

    @Test func measuresFollowTheirFormulas() {
        #expect(SimilarityMeasure.cooccurrence.score(count: 3, degreeA: 4, degreeB: 9) == 3)
        #expect(SimilarityMeasure.cosine.score(count: 3, degreeA: 4, degreeB: 9) == 0.5)
        #expect(SimilarityMeasure.jaccard.score(count: 3, degreeA: 4, degreeB: 9) == 0.3)
        #expect(SimilarityMeasure.lift.score(count: 3, degreeA: 4, degreeB: 9) == 3.0 / 36.0)
    }

    @Test func algorithmListsParse() throws {
        #expect(try Algorithm.parseList("itemcf") == [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift])
        #expect(try Algorithm.parseList("u2u,a2a:cosine") == [.u2uCosine, .a2aCosine])
        #expect(throws: AlgorithmListError.self) { try Algorithm.parseList("swung") }
    }

    @Test func keySchema() throws {
        let keys = try KeySchema(namespace: "ocf")
        #expect(keys.list(.itemcfCosine, id: "i:1") == "ocf:i2i:itemcf:cosine:i:1")
        #expect(keys.list(.u2uCosine, id: "u1") == "ocf:u2u:cosine:u1")
        #expect(throws: KeySchemaError.self) { try KeySchema(namespace: "a*b") }
    }

    @Test func eventLogRoundTripsOddIds() throws {
        let events = [
            Event(user: "u with space", item: "i\ttab", author: nil, action: nil, timestampMillis: nil),
            Event(user: "ü\"q\"", item: "🙂", author: "a", action: "like", timestampMillis: -5),
            Event(user: String(repeating: "x", count: 512), item: "1", author: nil, action: "share", timestampMillis: Int64.max),
        ]
        #expect(try EventLogCodec.decode(EventLogCodec.encode(events)) == events)
        #expect(throws: EventLogError.self) { try EventLogCodec.decode([1, 200]) }
    }
}
