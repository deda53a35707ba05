import Foundation
import Synchronization
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

/// Several `onlinecf run` workers sharing one job (`--workers N --worker I`): each reads its
/// users' events, applies every worker's committed log, and writes the lists it owns. The
/// lists they leave equal those of one worker alone.
@Suite(.serialized) struct WorkersTests {
    /// Runs the commands at the same time and waits for all of them.
    static func runTogether(_ commands: [[String]]) throws -> [CommandResult] {
        let results = Mutex<[Int: Result<CommandResult, any Error>]>([:])
        let group = DispatchGroup()
        for (n, arguments) in commands.enumerated() {
            group.enter()
            Thread.detachNewThread {
                let result = Result { try OnlineCFBinary.run(arguments) }
                results.withLock { $0[n] = result }
                group.leave()
            }
        }
        group.wait()
        return try results.withLock { r in try (0..<commands.count).map { try r[$0]!.get() } }
    }

    /// Every list family of a namespace, exported and parsed.
    static func exportAll(_ url: String, namespace: String, algorithms: [Algorithm]) throws -> [String: [String: BruteForce.List]] {
        var out: [String: [String: BruteForce.List]] = [:]
        for algorithm in algorithms {
            out[algorithm.rawValue] = parseExport(try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", namespace, "--redis", url]).stdout)
        }
        return out
    }

    /// N workers read one generated file (each all of it) into one namespace on one Redis;
    /// every list, Swing, a2a and a bounded u2u history included, equals a single worker's
    /// batch over the file.
    @Test(arguments: [2, 3])
    func workersOnAFileEqualOneWorker(count: Int) throws {
        let redis = try TestRedis()
        let path = redis.directory + "/events.jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: Data(try generatedEvents(8_000, users: 300, items: 500, seed: 5)))
        let options = ["--redis", redis.url, "--user-history", "20", "--no-progress"]
        try onlinecf(["batch", path, "--namespace", "one"] + options)
        let worker = { (i: Int) in
            ["run", "--source", "file:\(path)", "--namespace", "two", "--workers", String(count), "--worker", String(i), "--emit-interval", "200ms"] + options
        }
        let results = try Self.runTogether((0..<count).map(worker))
        for (i, r) in results.enumerated() {
            #expect(r.status == 0, "worker \(i): \(r.stderr.suffix(1500))")
            #expect(r.stderr.contains("worker \(i)/\(count): keeps and writes the rows of "), "worker \(i): \(r.stderr)")
        }
        let one = try Self.exportAll(redis.url, namespace: "one", algorithms: Algorithm.allCases)
        let two = try Self.exportAll(redis.url, namespace: "two", algorithms: Algorithm.allCases)
        for algorithm in Algorithm.allCases {
            #expect((one[algorithm.rawValue]?.count ?? 0) > 10, "\(algorithm.rawValue): \(one[algorithm.rawValue]?.count ?? 0) lists")
            expectSameLists(one[algorithm.rawValue]!, two[algorithm.rawValue]!, tolerance: 1e-9, "\(algorithm.rawValue), \(count) workers vs 1")
        }
        // The state of several workers cannot be continued by one (each holds its own rows).
        let alone = try OnlineCFBinary.run(["run", "--namespace", "two"] + options)
        #expect(alone.status != 0 && alone.stderr.contains("holds the state of a job run by \(count) worker(s)"), "\(alone.stderr)")
    }

    /// A batch backfills the first half of a log; two workers then stream the second half
    /// into the same namespace: the lists equal one batch over the whole log (worker 0's
    /// log, the batch's, replays first, so every user's events keep their order).
    /// Two workers continue the state of one job: a batch (whose state is its log) or a
    /// run (whose state ends in a snapshot, its log deleted: every worker starts from it).
    @Test(arguments: ["batch", "run"])
    func twoWorkersContinueOneJob(first command: String) throws {
        let redis = try TestRedis()
        let lines = try generatedEvents(8_000, users: 300, items: 500, seed: 6).split(separator: 0x0A)
        let whole = redis.directory + "/whole.jsonl", first = redis.directory + "/first.jsonl", second = redis.directory + "/second.jsonl"
        for (path, part) in [(whole, lines[...]), (first, lines[..<4_000]), (second, lines[4_000...])] {
            _ = FileManager.default.createFile(atPath: path, contents: Data(part.joined(separator: [0x0A]) + [0x0A]))
        }
        let options = ["--redis", redis.url, "--algos", "cooccurrence", "--user-history", "0", "--no-progress"]
        try onlinecf(["batch", whole, "--namespace", "one"] + options)
        if command == "batch" {
            try onlinecf(["batch", first, "--namespace", "two"] + options)
        } else {
            let run = try onlinecf(["run", "--source", "file:\(first)", "--namespace", "two"] + options)
            #expect(run.stderr.contains("snapshots: 1 "), "\(run.stderr)")
        }
        let worker = { (i: Int) in
            ["run", "--source", "file:\(second)", "--namespace", "two", "--workers", "2", "--worker", String(i), "--emit-interval", "200ms"] + options
        }
        for (i, r) in try Self.runTogether([worker(0), worker(1)]).enumerated() {
            #expect(r.status == 0, "worker \(i): \(r.stderr.suffix(1500))")
        }
        let algorithms = Algorithm.allCases.filter { $0 != .swing }
        let one = try Self.exportAll(redis.url, namespace: "one", algorithms: algorithms)
        let two = try Self.exportAll(redis.url, namespace: "two", algorithms: algorithms)
        for algorithm in algorithms {
            expectSameLists(one[algorithm.rawValue]!, two[algorithm.rawValue]!, tolerance: 1e-12, "\(algorithm.rawValue), \(command) then 2 workers vs 1 batch")
        }
    }

    /// N workers each read every partition of a Kafka topic (four partitions keyed by user)
    /// and write into a 3-node Redis Cluster on loopback. Every list equals a single
    /// worker's on one Redis (a batch over the same file), and the keys are spread over all
    /// three nodes.
    @Test(.enabled(if: SharedData.ml100k != nil, "needs ../shared/data/ml-100k.inter"), arguments: [2, 3])
    func workersReadingAKafkaTopicIntoAThreeNodeClusterEqualOneWorker(count: Int) throws {
        let ml100k = SharedData.ml100k!
        let lines = try String(contentsOfFile: ml100k, encoding: .utf8).split(separator: "\n").dropFirst()
        let kafka = try MockKafka()
        try kafka.createTopic("ml", partitions: 4)
        try kafka.produce("ml", lines.map { line in (String(line.prefix { $0 != "\t" }), String(line)) })
        let cluster = try RedisClusterProcess.start()
        defer { cluster.stop(save: false) }
        let single = try TestRedis()
        let model = ["--algos", "cooccurrence", "--user-history", "0", "--no-progress"]
        try onlinecf(["batch", ml100k, "--format", "inter", "--namespace", "cf", "--redis", single.url] + model)
        let worker = { (i: Int) in
            ["run", "--source", "kafka:\(kafka.bootstraps)/ml?group=cf&fetch.wait.max.ms=20", "--format", "tsv", "--columns", "user,item,ignore,ts",
             "--namespace", "cf", "--redis", cluster.url, "--workers", String(count), "--worker", String(i), "--emit-interval", "500ms"] + model
        }
        let results = try Self.runTogether((0..<count).map(worker))
        for (i, r) in results.enumerated() {
            #expect(r.status == 0, "worker \(i): \(r.stderr.suffix(1500))")
            #expect(r.stderr.contains("(4 partitions): p0 from its beginning, p1"), "worker \(i): \(r.stderr)")
        }
        let algorithms = Algorithm.allCases.filter { $0 != .a2aCosine && $0 != .swing }
        let one = try Self.exportAll(single.url, namespace: "cf", algorithms: algorithms)
        let two = try Self.exportAll(cluster.url, namespace: "cf", algorithms: algorithms)
        for algorithm in algorithms {
            #expect((one[algorithm.rawValue]?.count ?? 0) > 900, "\(algorithm.rawValue): \(one[algorithm.rawValue]?.count ?? 0) lists")
            expectSameLists(one[algorithm.rawValue]!, two[algorithm.rawValue]!, tolerance: 1e-12, "\(algorithm.rawValue), \(count) workers on a cluster vs 1 on one Redis")
        }
        for endpoint in cluster.nodeEndpoints {
            let node = try RedisConnection(endpoint: endpoint)
            defer { node.close() }
            #expect((try node.execute(RedisCommand("DBSIZE")).int ?? 0) > 2_000, "\(endpoint.displayName) holds few keys")
        }
    }

    /// One of two workers is SIGKILLed five times at random points and restarted while the
    /// other runs through: the restarted worker replays its own log and its peer's, reads on
    /// from its committed position, and the lists the two leave still equal one batch's.
    @Test func aWorkerKilledAndRestartedStillEqualsOneWorker() throws {
        let redis = try TestRedis()
        let path = redis.directory + "/events.jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: Data(try generatedEvents(60_000, users: 800, items: 1_200, seed: 9)))
        let options = ["--redis", redis.url, "--algos", "cooccurrence", "--user-history", "0", "--no-progress"]
        try onlinecf(["batch", path, "--namespace", "one"] + options)
        let worker = { (i: Int) in
            ["run", "--source", "file:\(path)", "--namespace", "two", "--workers", "2", "--worker", String(i), "--emit-interval", "100ms"] + options
        }
        let steady = Mutex<CommandResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        let first = worker(0)
        Thread.detachNewThread {
            let result = try? OnlineCFBinary.run(first)
            steady.withLock { $0 = result }
            done.signal()
        }
        let killed = try SourceTests.killRepeatedly(worker(1), times: 5, seed: 3, span: 5)
        #expect(killed >= 3, "killed \(killed) times")
        let last = try onlinecf(worker(1))
        done.wait()
        let steadyResult = try #require(steady.withLock { $0 })
        #expect(steadyResult.status == 0, "worker 0: \(steadyResult.stderr.suffix(1500))")
        #expect(last.stderr.contains("resumed") || killed == 0, "\(last.stderr)")
        let algorithms = Algorithm.allCases.filter { $0 != .swing }
        let one = try Self.exportAll(redis.url, namespace: "one", algorithms: algorithms)
        let two = try Self.exportAll(redis.url, namespace: "two", algorithms: algorithms)
        for algorithm in algorithms {
            expectSameLists(one[algorithm.rawValue]!, two[algorithm.rawValue]!, tolerance: 1e-12, "\(algorithm.rawValue), after \(killed) kills")
        }
    }

    @Test func workerOptionsAreValidated() throws {
        let bad = try OnlineCFBinary.run(["run", "--workers", "2", "--worker", "2", "--no-progress"])
        #expect(bad.status != 0 && bad.stderr.contains("worker: 2 is out of range: use 0 to 1"), "\(bad.stderr)")
        let stream = try OnlineCFBinary.run(["run", "--workers", "2", "--source", "redis-stream:ev?group=g", "--no-progress"])
        #expect(stream.status != 0 && stream.stderr.contains("several workers cannot share a Redis Stream's consumer group"), "\(stream.stderr)")
    }
}
