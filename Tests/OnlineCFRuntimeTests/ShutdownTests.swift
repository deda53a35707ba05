import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct ShutdownTests {
    /// SIGTERM while input is still open: stop reading, emit, commit, exit 0.
    @Test func sigtermCommitsWhatWasReadAndExitsZero() throws {
        let redis = try TestRedis()
        let job = try RunningJob(["run", "--redis", redis.url, "--emit-interval", "1h", "--metrics", "127.0.0.1:0", "--no-progress"])
        job.write(Array("{\"user\":\"u1\",\"item\":\"a\"}\n{\"user\":\"u1\",\"item\":\"b\"}\n{\"user\":\"u2\",\"item\":\"a\"}\n".utf8))
        let url = try job.metricsURL()
        // Read, not yet emitted (the interval is an hour).
        try waitUntil("the job has read the three events") { try httpGet(url).contains("onlinecf_events_read_total 3") }
        #expect(job.stop(SIGTERM) == 0, "stderr: \(job.stderr)")  // stdin stays open
        #expect(job.stderr.contains("shutting down"))
        #expect(job.stderr.contains("events: 3 "))
        let lists = try onlinecf(["i2i", "a", "--algo", "itemcf:cooccurrence", "--redis", redis.url])
        #expect(lists.stdout == "b\t1.0\n")
        let meta = try onlinecf(["run", "--redis", redis.url], stdin: [])
        #expect(meta.stderr.contains("3 logged events replayed"))
    }

    /// SIGTERM while the state is being restored: the run stops within seconds, before
    /// reading any input, and leaves the state as it was.
    @Test func sigtermDuringTheRestoreStopsPromptlyAndWritesNothing() throws {
        let redis = try TestRedis()
        let events = try generatedEvents(150_000, users: 10_000, items: 3_000, seed: 9)
        try onlinecf(["batch", "--redis", redis.url, "--algos", "cooccurrence", "--no-progress", "-"], stdin: events)
        let kv = RedisClient(endpoint: try RedisEndpoint(url: redis.url), log: { _ in })
        let keys = try KeySchema(namespace: "ocf")
        let before = try kv.execute(RedisCommand("HGETALL", keys.meta(worker: 0)))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--redis", redis.url, "--algos", "cooccurrence", "--no-progress"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        // The lease is taken right before the restore begins.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while try kv.execute(RedisCommand("EXISTS", keys.lease(worker: 0))).int != 1 && clock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let signalled = clock.now
        process.terminate()
        process.waitUntilExit()
        let stopped = clock.now - signalled
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try? input.fileHandleForWriting.close()
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("shutdown requested during the restore"), "\(stderr)")
        // A debug build under load; a release build stops in well under a second.
        #expect(stopped < .seconds(10), "stopped \(stopped) after SIGTERM")
        #expect(try kv.execute(RedisCommand("HGETALL", keys.meta(worker: 0))) == before, "the state is untouched")
        #expect(try kv.execute(RedisCommand("EXISTS", keys.lease(worker: 0))).int == 0, "the lease is released")
    }
}
