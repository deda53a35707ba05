import Testing
import OnlineCFCore

/// Several workers divide the model (``ModelPartitioning/workers``): each applies every
/// event to the light state but keeps only the rows of the ids it owns. Its kept lists
/// equal a whole model's bit for bit, the others are empty, its change marks cover every
/// kept list that changed, and its snapshot (or a whole model's, read by it) restores
/// exactly its rows.
@Suite struct WorkerDivisionTests {
    enum Setup: String, CaseIterable, CustomTestStringConvertible {
        case binary, windowed, weighted, ttl
        var testDescription: String { rawValue }
    }

    static func parameters(_ setup: Setup) throws -> ModelParameters {
        switch setup {
        case .binary:
            return ModelParameters(algorithms: Set(Algorithm.allCases), k: 12).exact()
        case .windowed:
            return ModelParameters(algorithms: Set(Algorithm.allCases), itemHistory: 4, userHistory: 3, authorHistory: 2, k: 12)
        case .weighted:
            var p = ModelParameters(algorithms: [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift, .u2uCosine], k: 12).exact()
            p.actionWeights = try ActionWeights(parsing: "click=1,like=2,share=3,*=-1")
            p.decayHalfLifeMillis = 3_600_000
            return p
        case .ttl:
            var p = ModelParameters(algorithms: Set(Algorithm.cooccurrenceAlgorithms), itemHistory: 5, userHistory: 0, k: 12)
            p.ttlMillis = 2_000_000
            return p
        }
    }

    static func events(_ setup: Setup) -> [Event] {
        var events = TestEvents.random(count: 5_000, users: 250, items: 300, authors: 30, seed: 17)
        let actions = ["click", "like", "share", "dislike"]
        for n in events.indices {
            events[n].timestampMillis = Int64(n) * 1_000
            if setup == .weighted { events[n].action = actions[(n * 7 + n / 3) % actions.count] }
        }
        return events
    }

    /// Every list of every entity of a kind.
    static func lists(_ model: CFModel, _ algorithm: Algorithm) -> [[ScoredNeighbor]] {
        (0..<model.names(for: algorithm.kind).count).map { model.list(algorithm, of: UInt32($0)) }
    }

    static func apply(_ events: ArraySlice<Event>, to model: inout CFModel) {
        for (n, e) in events.enumerated() {
            model.apply(e)
            if n % 613 == 0 { model.applyPendingPairs() }
        }
        model.applyPendingPairs()
        model.rebuildSwing(threads: 2)
    }

    @Test(arguments: Setup.allCases, [2, 3])
    func eachWorkerKeepsExactlyItsRowsWithTheWholeModelsLists(setup: Setup, workers: Int) throws {
        let p = try Self.parameters(setup), events = Self.events(setup)
        // Few events after the first emission: most lists that change then change only
        // because a neighbour's degree did, which a foreign neighbour's row cannot say.
        let half = events.count - 60
        var whole = CFModel(parameters: p)
        Self.apply(events[..<half], to: &whole)
        let before = Dictionary(uniqueKeysWithValues: p.algorithms.map { ($0, Self.lists(whole, $0)) })
        let wholeSnapshot = whole.snapshot()
        Self.apply(events[half...], to: &whole)
        for index in 0..<workers {
            let partitioning = ModelPartitioning(count: 2, workers: WorkerAssignment(count: workers, index: index)!)
            var model = CFModel(parameters: p, partitioning: partitioning)
            Self.apply(events[..<half], to: &model)
            // A whole model's snapshot read by this worker keeps this worker's rows only.
            let fromWhole = try CFModel(snapshot: wholeSnapshot, parameters: p, partitioning: partitioning)
            for algorithm in p.algorithms {
                #expect(Self.lists(fromWhole, algorithm) == Self.lists(model, algorithm), "\(setup) \(algorithm.rawValue): worker \(index) of \(workers) from a whole snapshot")
            }
            model.clearChanges(full: true)
            Self.apply(events[half...], to: &model)
            let changed = Dictionary(model.changedEntities(full: true).map { ($0.0, Set($0.1)) }, uniquingKeysWith: { a, _ in a })
            // Its own snapshot restores it.
            let restored = try CFModel(snapshot: model.snapshot(), parameters: p, partitioning: partitioning)
            for algorithm in p.algorithms {
                let mine = Self.lists(model, algorithm), all = Self.lists(whole, algorithm)
                #expect(mine.count == all.count)
                var kept = 0
                for e in mine.indices {
                    if model.keepsRow(algorithm.kind, UInt32(e)) {
                        kept += 1
                        #expect(mine[e] == all[e], "\(setup) \(algorithm.rawValue): \(model.names(for: algorithm.kind)[e]) on worker \(index) of \(workers)")
                        let old = e < before[algorithm]!.count ? before[algorithm]![e] : []
                        if old != all[e] {
                            #expect(changed[.algorithm(algorithm)]?.contains(UInt32(e)) == true,
                                    "\(setup) \(algorithm.rawValue): \(model.names(for: algorithm.kind)[e]) changed but is not marked (worker \(index) of \(workers))")
                        }
                    } else {
                        #expect(mine[e].isEmpty, "\(setup) \(algorithm.rawValue): worker \(index) holds a foreign row")
                    }
                }
                #expect(kept > 0 && kept < mine.count || mine.count < 2)
                #expect(Self.lists(restored, algorithm) == mine, "\(setup) \(algorithm.rawValue): worker \(index) of \(workers) after its own snapshot")
            }
        }
    }

    @Test func partitionsOfAWorkerDivideItsRowsEvenly() {
        let ids = (0..<6_000).map { "item-\($0)" }
        for (n, p) in [(2, 2), (3, 4), (4, 2)] {
            var counts = [Int](repeating: 0, count: p)
            for index in 0..<n {
                let partitioning = ModelPartitioning(count: p, workers: WorkerAssignment(count: n, index: index)!)
                for id in ids where partitioning.keeps(id) { counts[Int(partitioning.partition(of: id))] += 1 }
            }
            #expect(counts.reduce(0, +) == ids.count)
            for c in counts { #expect(Double(c) > 0.8 * Double(ids.count) / Double(p), "\(n) workers, \(p) partitions: \(counts)") }
        }
    }
}
