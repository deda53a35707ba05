import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

/// One writer per (namespace, worker), and a KV store whose memory may evict or fill up.
@Suite(.serialized) struct WriterTests {
    func client(_ redis: TestRedis) throws -> RedisClient {
        RedisClient(endpoint: try RedisEndpoint(url: redis.url), log: { _ in })
    }

    func meta(_ client: RedisClient, _ namespace: String, _ field: String) throws -> Int {
        Int(try client.execute(RedisCommand("HGET", try KeySchema(namespace: namespace).meta(worker: 0), field)).string ?? "0") ?? 0
    }

    func exports(_ redis: TestRedis, _ namespace: String) throws -> [String] {
        try Algorithm.cooccurrenceAlgorithms.map { algorithm in
            try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", namespace, "--redis", redis.url]).stdout
        }
    }

    @Test func aSecondWriterIsRefusedAndTheHolderIsNamed() throws {
        let redis = try TestRedis()
        let kv = try client(redis)
        let lease = try KeySchema(namespace: "held").lease(worker: 0)
        let first = try RunningJob(["run", "--redis", redis.url, "--namespace", "held", "--no-progress"])
        try waitUntil("the first run holds the lease") { try kv.execute(RedisCommand("EXISTS", lease)).int == 1 }

        let second = try OnlineCFBinary.run(["run", "--redis", redis.url, "--namespace", "held", "--no-progress"], stdin: [])
        #expect(second.status != 0)
        #expect(second.stderr.contains("is written by another process: pid \(first.pid) on host"), "\(second.stderr)")
        #expect(second.stderr.contains("lapses in"))
        let batch = try OnlineCFBinary.run(["batch", "--redis", redis.url, "--namespace", "held", "--no-progress", "-"], stdin: [])
        #expect(batch.status != 0 && batch.stderr.contains("pid \(first.pid)"), "a batch is a writer too: \(batch.stderr)")
        let reset = try OnlineCFBinary.run(["reset", "--redis", redis.url, "--namespace", "held"])
        #expect(reset.status != 0 && reset.stderr.contains("is being written"), "\(reset.stderr)")
        let status = try onlinecf(["status", "--redis", redis.url, "--namespace", "held"])
        #expect(status.stdout.contains("pid \(first.pid) on host"), "\(status.stdout)")
        // Another namespace is another writer.
        try onlinecf(["run", "--redis", redis.url, "--namespace", "free", "--no-progress"], stdin: [])

        first.write(Array("{\"user\":\"u1\",\"item\":\"a\"}\n{\"user\":\"u1\",\"item\":\"b\"}\n".utf8))
        #expect(first.finish() == 0, "\(first.stderr)")
        #expect(try kv.execute(RedisCommand("EXISTS", lease)).int == 0, "the lease is released at exit")
        let after = try onlinecf(["run", "--redis", redis.url, "--namespace", "held", "--no-progress"], stdin: [])
        #expect(after.stderr.contains("a snapshot of 2 events"), "\(after.stderr)")
    }

    /// A writer stopped (SIGSTOP) past its lease while another process takes over and
    /// commits: after SIGCONT it cannot commit and exits non-zero; the lists are one
    /// uninterrupted run's.
    @Test func aPausedWriterWhoseLeaseWasTakenCannotCommit() throws {
        let redis = try TestRedis()
        let kv = try client(redis)
        let input = try generatedEvents(4_000, users: 200, items: 150, seed: 71)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }
        let firstHalf = Array(lines.prefix(2_000).joined()), secondHalf = Array(lines.dropFirst(2_000).joined())
        let late = try generatedEvents(300, users: 50, items: 150, seed: 72)
        let lease = try KeySchema(namespace: "paused").lease(worker: 0)

        let paused = try RunningJob(["run", "--redis", redis.url, "--namespace", "paused", "--algos", "cooccurrence",
                                     "--lease", "1s", "--emit-interval", "200ms", "--no-progress"])
        paused.write(firstHalf)
        try waitUntil("the first half is committed and emitted") {
            let chunks = try meta(kv, "paused", "log_chunks")
            return try meta(kv, "paused", "lines_committed") == 2_000 && chunks > 0 && meta(kv, "paused", "emitted_chunks") == chunks
        }
        kill(paused.pid, SIGSTOP)
        try waitUntil("the stopped writer's lease lapses") { try kv.execute(RedisCommand("EXISTS", lease)).int == 0 }

        let takeOver = try onlinecf(["run", "--redis", redis.url, "--namespace", "paused", "--algos", "cooccurrence", "--no-progress"], stdin: secondHalf)
        #expect(takeOver.stderr.contains("logged events replayed"))

        kill(paused.pid, SIGCONT)
        paused.write(late, thenClose: true)
        let status = paused.finish()
        #expect(status != 0, "the paused writer must not go on: \(paused.stderr)")
        #expect(paused.stderr.contains("lost its writer lease"), "\(paused.stderr)")

        try onlinecf(["run", "--redis", redis.url, "--namespace", "reference", "--algos", "cooccurrence", "--no-progress"], stdin: input)
        let live = try exports(redis, "paused"), reference = try exports(redis, "reference")
        #expect(!live[0].isEmpty)
        #expect(live == reference, "the lists are those of one run over both halves")
    }

    @Test func anEvictingKVStoreIsRefused() throws {
        let redis = try TestRedis()
        let kv = try client(redis)
        try kv.execute(RedisCommand("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"))
        let run = try OnlineCFBinary.run(["run", "--redis", redis.url, "--no-progress"], stdin: Array("{\"user\":\"u\",\"item\":\"i\"}\n".utf8))
        #expect(run.status != 0)
        #expect(run.stderr.contains("maxmemory-policy is allkeys-lru"), "\(run.stderr)")
        #expect(run.stderr.contains("CONFIG SET maxmemory-policy noeviction"))
        try kv.execute(RedisCommand("CONFIG", "SET", "maxmemory-policy", "volatile-lru"))
        try onlinecf(["run", "--redis", redis.url, "--no-progress"], stdin: Array("{\"user\":\"u\",\"item\":\"i\"}\n".utf8))
    }

    /// The server reaches `maxmemory` (noeviction) mid-run: the job reports it, waits, and
    /// once memory is raised finishes with the lists of a run that never hit the limit.
    @Test func aFullKVStoreMakesTheJobWaitAndLosesNothing() throws {
        let redis = try TestRedis()
        let kv = try client(redis)
        let input = try generatedEvents(6_000, users: 300, items: 200, seed: 73)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }

        let job = try RunningJob(["run", "--redis", redis.url, "--namespace", "full", "--algos", "cooccurrence",
                                  "--emit-interval", "200ms", "--no-progress"])
        job.write(Array(lines.prefix(3_000).joined()))
        try waitUntil("the first half is committed") { try meta(kv, "full", "lines_committed") == 3_000 }
        // Any write now exceeds maxmemory.
        try kv.execute(RedisCommand("CONFIG", "SET", "maxmemory", "1"))
        job.write(Array(lines.dropFirst(3_000).joined()), thenClose: true)
        try waitUntil("the job reports the full server") { job.stderr.contains("out of memory") }
        #expect(try meta(kv, "full", "lines_committed") == 3_000, "nothing was committed while the server was full")
        try kv.execute(RedisCommand("CONFIG", "SET", "maxmemory", "0"))
        #expect(job.finish() == 0, "\(job.stderr)")
        #expect(job.stderr.contains("accepts writes again"), "\(job.stderr)")
        #expect(job.stderr.contains("events: 6000 "), "\(job.stderr)")

        try onlinecf(["run", "--redis", redis.url, "--namespace", "reference", "--algos", "cooccurrence", "--no-progress"], stdin: input)
        #expect(try exports(redis, "full") == exports(redis, "reference"))
    }
}
