import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct OutageTests {
    /// redis-server restarts (with persistence) in the middle of a run: the job waits,
    /// carries on, and its lists equal an uninterrupted run's.
    @Test func redisRestartMidRunLosesNothing() throws {
        let input = try generatedEvents(6_000, users: 300, items: 200, seed: 31)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }
        let directory = "/tmp/ocf-outage-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var server = try RedisServerProcess.start(directory: directory, persistence: true)
        let url = "unix://\(directory)/redis.sock"

        let job = try RunningJob(["run", "--redis", url, "--algos", "cooccurrence", "--emit-interval", "200ms", "--no-progress", "--namespace", "live"])
        // First half, committed; then the outage while the job is running, then the second
        // half. The rest of the input is written from another thread: while Redis is down
        // the job stops reading (back-pressure), so that write may block until the restart.
        job.write(Array(lines.prefix(3000).joined()))
        let client = RedisClient(endpoint: try RedisEndpoint(url: url), log: { _ in })
        try waitUntil("the first half is committed") {
            Int(try client.execute(RedisCommand("HGET", "live:{live/0}:meta", "lines_committed")).string ?? "") == 3000
        }
        client.close()
        server.stop(save: true)
        job.write(Array(lines.dropFirst(3000).joined()), thenClose: true)
        try waitUntil("the job notices the outage") { job.stderr.contains("unreachable") }
        server = try RedisServerProcess.start(directory: directory, persistence: true)
        let status = job.finish()
        let log = job.stderr
        #expect(status == 0, "\(log)")
        #expect(log.contains("reachable again"), "the outage was noticed and passed: \(log)")
        #expect(log.contains("events: 6000 "))

        try onlinecf(["run", "--redis", url, "--algos", "cooccurrence", "--namespace", "reference"], stdin: input)
        for algorithm in Algorithm.cooccurrenceAlgorithms {
            let live = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "live", "--redis", url]).stdout
            let reference = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "reference", "--redis", url]).stdout
            #expect(!live.isEmpty && live == reference, "\(algorithm.rawValue) differs after the outage")
        }
        server.stop(save: false)
    }
}
