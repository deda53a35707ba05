import Testing
import OnlineCFCore
import OnlineCFTestSupport

/// Deferred evaluation (a batch's sparse product) against the incremental counters and the
/// brute-force oracle, for several thread counts.
@Suite struct DeferredEvaluationTests {
    static let threadCounts = [1, 2, 3, 8]

    /// Applies `events` to a model of each evaluation; the deferred one computes its lists.
    static func models(_ events: [Event], _ parameters: ModelParameters, threads: Int) -> (incremental: CFModel, deferred: CFModel) {
        var incremental = CFModel(parameters: parameters)
        var deferred = CFModel(parameters: parameters, evaluation: .deferred)
        for e in events { incremental.apply(e); deferred.apply(e) }
        deferred.computeDeferredLists(threads: threads)
        return (incremental, deferred)
    }

    /// Every list of every entity, as (neighbour index, score bits).
    static func allLists(_ model: CFModel, _ algorithm: Algorithm) -> [[ScoredNeighbor]] {
        (0..<model.names(for: algorithm.kind).count).map { model.list(algorithm, of: UInt32($0)) }
    }

    @Test(arguments: [0, 3])
    func binaryListsEqualTheCountersBitForBitForEveryThreadCount(window: Int) {
        let events = TestEvents.random(count: 6_000, users: 300, items: 400, authors: 40, seed: 11)
        let p = ModelParameters(algorithms: Set(Algorithm.cooccurrenceAlgorithms), itemHistory: window, userHistory: window, authorHistory: window, k: 15)
        var first: [Algorithm: [[ScoredNeighbor]]] = [:]
        for threads in Self.threadCounts {
            let (incremental, deferred) = Self.models(events, p, threads: threads)
            #expect(deferred.evaluation == .deferred)
            for algorithm in Algorithm.cooccurrenceAlgorithms {
                let lists = Self.allLists(deferred, algorithm)
                #expect(lists == Self.allLists(incremental, algorithm), "\(algorithm.rawValue) window \(window), \(threads) threads")
                if let f = first[algorithm] { #expect(lists == f) } else { first[algorithm] = lists }
            }
        }
        let b = BruteForce.Bounds(itemHistory: window, userHistory: window, authorHistory: window)
        let (_, deferred) = Self.models(events, p, threads: 2)
        for algorithm in Algorithm.cooccurrenceAlgorithms {
            expectEqualLists(BruteForce.lists(events: events, algorithm: algorithm, k: 15, bounds: b), modelLists(deferred, algorithm))
        }
    }

    @Test func weightedDecayedListsAreTheSameForEveryThreadCountAndMatchTheCounters() throws {
        let actions = ["click", "like", "share", "dislike"]
        var events = TestEvents.random(count: 5_000, users: 200, items: 300, authors: 30, seed: 5)
        for n in events.indices {
            events[n].action = actions[(n * 7 + n / 3) % actions.count]
            events[n].timestampMillis = Int64(n) * 60_000
        }
        var p = ModelParameters(algorithms: [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift, .u2uCosine], k: 10).exact()
        p.actionWeights = try ActionWeights(parsing: "click=1,like=2,share=3,*=-1")
        p.decayHalfLifeMillis = 3_600_000
        var first: [Algorithm: [[ScoredNeighbor]]] = [:]
        for threads in Self.threadCounts {
            let (incremental, deferred) = Self.models(events, p, threads: threads)
            for algorithm in p.algorithms {
                let lists = Self.allLists(deferred, algorithm)
                if let f = first[algorithm] { #expect(lists == f, "\(algorithm.rawValue): \(threads) threads") } else { first[algorithm] = lists }
                expectEqualLists(modelLists(incremental, algorithm), modelLists(deferred, algorithm))
            }
        }
    }

    @Test func blockedItemsLeaveDeferredLists() {
        let events = TestEvents.random(count: 3_000, users: 100, items: 80, authors: 10, seed: 3)
        let p = ModelParameters(algorithms: [.itemcfCosine], k: 10).exact()
        var incremental = CFModel(parameters: p), deferred = CFModel(parameters: p, evaluation: .deferred)
        for e in events { incremental.apply(e); deferred.apply(e) }
        incremental.setBlocked(item: "i1", true); deferred.setBlocked(item: "i1", true)
        deferred.computeDeferredLists(threads: 2)
        #expect(Self.allLists(deferred, .itemcfCosine) == Self.allLists(incremental, .itemcfCosine))
        #expect(deferred.list(.itemcfCosine, of: deferred.index(of: "i1", kind: .i2i)!).isEmpty)
    }

    @Test func aTTLKeepsTheIncrementalCounters() {
        var p = ModelParameters(algorithms: [.itemcfCosine])
        p.ttlMillis = 1000
        #expect(CFModel(parameters: p, evaluation: .deferred).evaluation == .incremental)
    }
}

/// Partitions: rows divided between threads give the same lists for every count.
@Suite struct PartitionTests {
    @Test(arguments: [0, 5])
    func everyPartitionCountGivesTheSameLists(window: Int) {
        let events = TestEvents.random(count: 8_000, users: 400, items: 500, authors: 50, seed: 21)
        let p = ModelParameters(algorithms: Set(Algorithm.cooccurrenceAlgorithms), itemHistory: window, userHistory: window, authorHistory: window, k: 12)
        var reference: [Algorithm: [[ScoredNeighbor]]] = [:]
        for count in [1, 2, 3, 8] {
            var model = CFModel(parameters: p, partitioning: ModelPartitioning(count: count))
            for (n, e) in events.enumerated() {
                model.apply(e)
                if n % 997 == 0 { model.applyPendingPairs() }  // micro-batches of uneven size
            }
            model.applyPendingPairs()
            #expect(!model.hasPendingPairs)
            for algorithm in Algorithm.cooccurrenceAlgorithms {
                let lists = DeferredEvaluationTests.allLists(model, algorithm)
                let parallel = model.lists(algorithm, of: ArraySlice((0..<UInt32(lists.count)).map { $0 }), threads: count)
                #expect(parallel == lists, "\(algorithm.rawValue): lists computed on \(count) threads")
                if let r = reference[algorithm] { #expect(lists == r, "\(algorithm.rawValue), \(count) partitions") } else { reference[algorithm] = lists }
            }
        }
    }

    @Test func partitionsFollowTheIdNotItsArrival() {
        let p = ModelPartitioning(count: 8)
        #expect(p.partition(of: "item-42") == Int(StableHash.fnv1a64("item-42") % 8))
        #expect(WorkerAssignment(count: 8, index: 0)!.owner(of: "item-42") == p.partition(of: "item-42"))
        #expect(ModelPartitioning.single.partition(of: "x") == 0)
    }
}
