import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

/// Snapshots through the binary and a real redis-server: a restart loads the snapshot and
/// replays only the log after it, the log it covers is gone, the lists equal one
/// uninterrupted run's; other parameters and damaged snapshots are refused with what to do.
@Suite(.serialized) struct SnapshotEndToEndTests {
    static let options = ["--algos", "all", "--swing-min-user-behavior", "3", "-k", "20", "--emit-interval", "200ms", "--no-progress"]

    static func exports(_ redis: TestRedis, _ namespace: String) throws -> [String] {
        try Algorithm.allCases.map { try onlinecf(["export", "--algo", $0.rawValue, "--namespace", namespace, "--redis", redis.url]).stdout }
    }

    static func meta(_ client: RedisClient, _ namespace: String) throws -> [String: String] {
        let fields = try client.execute(RedisCommand("HGETALL", try KeySchema(namespace: namespace).meta(worker: 0))).array?.compactMap(\.string) ?? []
        return Dictionary(uniqueKeysWithValues: stride(from: 0, to: fields.count - 1, by: 2).map { (fields[$0], fields[$0 + 1]) })
    }

    @Test func aRestartLoadsTheSnapshotReplaysOnlyTheLogAfterItAndEqualsOneRun() throws {
        let input = try generatedEvents(12_000, users: 500, items: 300, seed: 41)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }
        let first = Array(lines.prefix(5_000).joined()), second = Array(lines.dropFirst(5_000).joined())
        let redis = try TestRedis()
        let client = RedisClient(endpoint: redis.server.endpoint)
        let kv = ["--redis", redis.url] + Self.options
        try onlinecf(["run", "--namespace", "calm"] + kv, stdin: input)

        // The first part ends with a snapshot: the log it covers is deleted.
        let a = try onlinecf(["run", "--namespace", "split"] + kv, stdin: first)
        #expect(a.stderr.contains("snapshots: 1 "), "\(a.stderr)")
        var meta = try Self.meta(client, "split")
        let covered = try #require(meta["snapshot_log_chunk"].flatMap { Int($0) })
        #expect(covered == Int(meta["log_chunks"] ?? "") && covered > 0)
        #expect(try client.execute(RedisCommand("HLEN", "split:{split/0}:log")).int == 0)

        // The second part with snapshots off keeps its log on top of the snapshot.
        try onlinecf(["run", "--namespace", "split", "--checkpoint-every", "0"] + kv, stdin: second)
        meta = try Self.meta(client, "split")
        let logged = try #require(Int(meta["log_chunks"] ?? "")) - covered
        #expect(logged > 0 && meta["snapshot_log_chunk"] == String(covered))
        #expect(try client.execute(RedisCommand("HLEN", "split:{split/0}:log")).int == Int64(logged))

        // A restart over no input: the snapshot, then the log after it.
        let restart = try onlinecf(["run", "--namespace", "split"] + kv, stdin: [])
        let snapshotEvents = try #require(meta["snapshot_events"].flatMap { Int($0) })
        let replayed = try #require(Int(meta["events_committed"] ?? "")) - snapshotEvents
        #expect(restart.stderr.contains("a snapshot of \(snapshotEvents) events"), "\(restart.stderr)")
        #expect(restart.stderr.contains("\(replayed) logged events replayed"), "\(restart.stderr)")
        // …which took a snapshot of everything: the next start replays nothing.
        #expect(try client.execute(RedisCommand("HLEN", "split:{split/0}:log")).int == 0)
        #expect(try Self.exports(redis, "split") == Self.exports(redis, "calm"))
        let again = try onlinecf(["run", "--namespace", "split"] + kv, stdin: [])
        #expect(again.stderr.contains(" 0 logged events replayed") && !again.stderr.contains("snapshots:"), "\(again.stderr)")

        // The previous snapshots' chunks are gone: one snapshot's chunks remain.
        let chunks = try client.execute(RedisCommand("KEYS", "split:*:snapshot")).array?.count ?? 0
        #expect(chunks == Int(try Self.meta(client, "split")["snapshot_chunks"] ?? ""), "\(chunks) chunk keys")
    }

    /// A snapshot another process was writing when it stopped (it may only be paused, and
    /// chunk writes are not fenced) is never written over: the next process takes a new
    /// id, so that process's late chunk writes cannot damage the current snapshot, and the
    /// abandoned chunks are deleted once the new snapshot is current.
    @Test func anAbandonedSnapshotIdIsNeverReused() throws {
        let input = try generatedEvents(6_000, users: 300, items: 200, seed: 43)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }
        let first = Array(lines.prefix(3_000).joined()), second = Array(lines.dropFirst(3_000).joined())
        let redis = try TestRedis()
        let client = RedisClient(endpoint: redis.server.endpoint)
        let kv = ["--redis", redis.url] + Self.options
        try onlinecf(["run", "--namespace", "calm"] + kv, stdin: input)
        try onlinecf(["run", "--namespace", "p"] + kv, stdin: first)
        let keys = try KeySchema(namespace: "p")
        let current = try #require(Self.meta(client, "p")["snapshot"].flatMap { Int($0) })
        // Another process started snapshot current + 1 and stopped after one chunk.
        let abandoned = current + 1
        try client.execute(RedisCommand("HSET", keys.meta(worker: 0), "snapshot_writing", String(abandoned)))
        try client.execute(RedisCommand("SET", keys.snapshotChunk(worker: 0, id: abandoned, chunk: 0), "left behind"))
        try onlinecf(["run", "--namespace", "p"] + kv, stdin: second)
        let meta = try Self.meta(client, "p")
        let taken = try #require(meta["snapshot"].flatMap { Int($0) })
        #expect(taken == abandoned + 1 && meta["snapshot_writing"] == nil, "\(meta)")
        #expect(try client.execute(RedisCommand("EXISTS", keys.snapshotChunk(worker: 0, id: abandoned, chunk: 0))).int == 0)
        // The stopped process wakes up and writes its chunks: the current snapshot is untouched.
        for chunk in 0..<3 { try client.execute(RedisCommand("SET", keys.snapshotChunk(worker: 0, id: abandoned, chunk: chunk), "late")) }
        let restart = try onlinecf(["run", "--namespace", "p"] + kv, stdin: [])
        #expect(restart.stderr.contains("a snapshot of"), "\(restart.stderr)")
        #expect(try Self.exports(redis, "p") == Self.exports(redis, "calm"))
    }

    @Test func otherModelParametersAreRefusedAnotherListLengthIsNot() throws {
        let redis = try TestRedis()
        let kv = ["--redis", redis.url, "--no-progress", "--algos", "itemcf", "-k", "10"]
        try onlinecf(["run", "--namespace", "p"] + kv, stdin: try generatedEvents(3_000, users: 200, items: 100, seed: 3))
        let wider = try OnlineCFBinary.run(["run", "--namespace", "p", "--item-history", "7"] + kv, stdin: [])
        #expect(wider.status != 0)
        #expect(wider.stderr.contains("other model parameters") && wider.stderr.contains("onlinecf reset"), "\(wider.stderr)")
        let longer = try onlinecf(["run", "--namespace", "p", "--redis", redis.url, "--no-progress", "--algos", "itemcf", "-k", "15"], stdin: [])
        #expect(longer.stderr.contains("lists written:"), "\(longer.stderr)")
        let list = try onlinecf(["export", "--algo", "itemcf:cosine", "--namespace", "p", "--redis", redis.url]).stdout
        let counts = Dictionary(grouping: list.split(separator: "\n"), by: { $0.split(separator: "\t").first.map(String.init) ?? "" }).values.map(\.count)
        #expect(counts.max() == 15, "another k rewrites every list")
    }

    @Test func aMissingOrDamagedChunkIsReportedNotMisread() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: redis.server.endpoint)
        let kv = ["--redis", redis.url, "--no-progress", "--algos", "itemcf,swing"]
        for ns in ["gone", "bent"] {
            try onlinecf(["run", "--namespace", ns] + kv, stdin: try generatedEvents(3_000, users: 200, items: 100, seed: 4))
        }
        let keys = try KeySchema(namespace: "gone")
        let id = try #require(Int(try Self.meta(client, "gone")["snapshot"] ?? ""))
        _ = try client.execute(RedisCommand("DEL", keys.snapshotChunk(worker: 0, id: id, chunk: 0)))
        let gone = try OnlineCFBinary.run(["run", "--namespace", "gone"] + kv, stdin: [])
        #expect(gone.status != 0 && gone.stderr.contains("chunk 0 of snapshot \(id)") && gone.stderr.contains("is missing"), "\(gone.stderr)")

        let bent = try KeySchema(namespace: "bent")
        let bentID = try #require(Int(try Self.meta(client, "bent")["snapshot"] ?? ""))
        _ = try client.execute(RedisCommand("SETRANGE", bent.snapshotChunk(worker: 0, id: bentID, chunk: 0), "100", "X"))
        let damaged = try OnlineCFBinary.run(["run", "--namespace", "bent"] + kv, stdin: [])
        #expect(damaged.status != 0 && damaged.stderr.contains("does not match its checksum"), "\(damaged.stderr)")
    }
}
