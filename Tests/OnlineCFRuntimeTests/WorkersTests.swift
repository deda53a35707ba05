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

    /// Two workers read ml-100k from one file source (each keeps the users it owns) into one
    /// namespace; every list, Swing included, equals a single worker's batch over the file.
    @Test func twoWorkersOnAFileEqualOneWorker() throws {
        guard let ml100k = SharedData.ml100k else {
            Issue.record("../shared/data/ml-100k.inter is missing: skipped"); return
        }
        let redis = try TestRedis()
        let options = ["--redis", redis.url, "--format", "inter", "--exact", "--no-progress"]
        try onlinecf(["batch", ml100k, "--namespace", "one"] + options)
        let worker = { (i: Int) in
            ["run", "--source", "file:\(ml100k)", "--namespace", "two", "--workers", "2", "--worker", String(i), "--emit-interval", "200ms"] + options
        }
        let results = try Self.runTogether([worker(0), worker(1)])
        for (i, r) in results.enumerated() {
            #expect(r.status == 0, "worker \(i): \(r.stderr.suffix(1500))")
            #expect(r.stderr.contains("other workers:"), "worker \(i): \(r.stderr)")
        }
        let algorithms = Algorithm.allCases.filter { $0 != .a2aCosine }  // ml-100k has no authors
        let one = try Self.exportAll(redis.url, namespace: "one", algorithms: algorithms)
        let two = try Self.exportAll(redis.url, namespace: "two", algorithms: algorithms)
        for algorithm in algorithms {
            #expect((one[algorithm.rawValue]?.count ?? 0) > 900, "\(algorithm.rawValue): \(one[algorithm.rawValue]?.count ?? 0) lists")
            expectSameLists(one[algorithm.rawValue]!, two[algorithm.rawValue]!, tolerance: 1e-9, "\(algorithm.rawValue), 2 workers vs 1")
        }
    }

    @Test func workerOptionsAreValidated() throws {
        let bad = try OnlineCFBinary.run(["run", "--workers", "2", "--worker", "2", "--no-progress"])
        #expect(bad.status != 0 && bad.stderr.contains("worker: 2 is out of range: use 0 to 1"), "\(bad.stderr)")
        let stream = try OnlineCFBinary.run(["run", "--workers", "2", "--source", "redis-stream:ev?group=g", "--no-progress"])
        #expect(stream.status != 0 && stream.stderr.contains("several workers cannot split a Redis Stream"), "\(stream.stderr)")
    }
}
