import Benchmark
import OnlineCFCore

/// Generated input shared by the benchmarks: 100,000 events, 10,000 users, 5,000 items.
let sampleEvents: [Event] = {
    var generator = try! EventGenerator(configuration: GeneratorConfiguration(events: 100_000, users: 10_000, items: 5_000, seed: 1))
    var events: [Event] = []
    while let e = generator.next() { events.append(e) }
    return events
}()

let sampleLines: [[UInt8]] = sampleEvents.map { Array(EventGenerator.jsonLine($0).utf8) }

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(5))

    Benchmark("decode jsonl (100k lines)") { benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = try! EventDecoder(format: .jsonl)
            var n = 0
            for (i, line) in sampleLines.enumerated() {
                if case .event = decoder.decode(line, lineNumber: i + 1) { n += 1 }
            }
            blackHole(n)
        }
    }

    Benchmark("apply 100k events, co-occurrence algorithms") { benchmark in
        for _ in benchmark.scaledIterations {
            var model = CFModel(parameters: ModelParameters(algorithms: Set(Algorithm.allCases.filter { $0 != .swing })))
            for e in sampleEvents { model.apply(e) }
            blackHole(model.pairUpdates)
        }
    }

    Benchmark("exact Swing over 100k events") { benchmark in
        var model = CFModel(parameters: ModelParameters(algorithms: [.swing]))
        model.setSwingIncremental(false)
        for e in sampleEvents { model.apply(e) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var copy = model
            copy.rebuildSwing()
            blackHole(copy.swing!.rows.count)
        }
    }

    Benchmark("top-50 lists of every item (itemcf:cosine)") { benchmark in
        var model = CFModel(parameters: ModelParameters(algorithms: [.itemcfCosine]))
        for e in sampleEvents { model.apply(e) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var selector = TopKSelector(k: 50, names: model.items.names, sortKeys: model.items.sortKeys)
            var total = 0
            for i in 0..<model.items.count { total += model.list(.itemcfCosine, of: UInt32(i), using: &selector).count }
            blackHole(total)
        }
    }

    Benchmark("pack and unpack 100k log events") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = EventLogCodec.encode(sampleEvents)
            blackHole(try! EventLogCodec.decode(bytes).count)
        }
    }
}
