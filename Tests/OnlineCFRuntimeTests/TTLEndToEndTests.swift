import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct TTLEndToEndTests {
    /// With `--ttl`, every list key written (i2i and recall) and the index sets carry a
    /// wall-clock expiry of the TTL; an item idle past the TTL in event time has its key
    /// deleted and leaves the other lists at the next emission, also across a restart
    /// (the second run restores the state from the logged events).
    @Test func listKeysCarryTheTTLAndAnExpiredItemsKeyIsGone() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: try RedisEndpoint(url: redis.url))
        defer { client.close() }
        func events(_ list: [(String, String, Int64)]) -> [UInt8] {
            Array(list.map { "{\"user\":\"\($0.0)\",\"item\":\"\($0.1)\",\"ts\":\(1_700_000_000_000 + $0.2 * 60_000)}\n" }.joined().utf8)
        }
        let options = ["run", "--redis", redis.url, "--namespace", "t", "--algos", "itemcf:cooccurrence", "--recall", "itemcf:cooccurrence",
                       "--ttl", "10m", "--no-progress"]
        try onlinecf(options, stdin: events([("u1", "a", 0), ("u1", "c", 1), ("u2", "a", 2), ("u2", "b", 3), ("u2", "c", 1), ("u3", "a", 5), ("u3", "b", 6)]))
        func pttl(_ key: String) throws -> Int64 { try client.execute(RedisCommand("PTTL", key)).int ?? -3 }
        func members(_ key: String) throws -> [String] { try client.execute(RedisCommand("ZRANGE", key, "0", "-1")).array!.compactMap(\.string) }
        let c = "t:i2i:itemcf:cooccurrence:c", a = "t:i2i:itemcf:cooccurrence:a"
        #expect(try members(c).sorted() == ["a", "b"])
        #expect(try members(a).sorted() == ["b", "c"])
        for key in [c, a, "t:recent:u1", "t:u2i2i:u1", "t:index:itemcf:cooccurrence", "t:index:recent"] {
            let left = try pttl(key)
            #expect(left > 0 && left <= 600_000, "\(key): PTTL \(left)")
        }
        // Minute 12: c (last seen at 1) and u1 (at 1) have been idle for longer than 10 min.
        try onlinecf(options, stdin: events([("u3", "b", 12)]))
        #expect(try client.execute(RedisCommand("EXISTS", c)).int == 0)
        #expect(try client.execute(RedisCommand("EXISTS", "t:recent:u1")).int == 0)
        #expect(try members(a) == ["b"])
        #expect(try pttl(a) > 0)
        #expect(try client.execute(RedisCommand("SISMEMBER", "t:index:itemcf:cooccurrence", "c")).int == 0)
        // A restart knows the expired ids' lists are gone: it deletes nothing again.
        let restart = try onlinecf(options, stdin: [])
        #expect(restart.stderr.contains(" deleted: 0 "), "\(restart.stderr)")
    }

    /// A restart under `--ttl` takes the remaining lifetimes of the stored keys for when
    /// they were written: it rewrites only the lists whose key is gone (or due for a
    /// refresh), not every restored list. (Recall lists are all rewritten at the final,
    /// full emission, restored or not: their seed weights are as of the latest event.)
    @Test func aRestartRewritesOnlyTheListsWhoseKeysAreGone() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: try RedisEndpoint(url: redis.url))
        defer { client.close() }
        let options = ["run", "--redis", redis.url, "--namespace", "r", "--algos", "itemcf:cooccurrence,u2u:cosine", "--ttl", "1h", "--no-progress"]
        let events = (0..<40).map { n in "{\"user\":\"u\(n % 7)\",\"item\":\"i\(n % 11)\",\"ts\":\(1_700_000_000_000 + Int64(n) * 1000)}\n" }.joined()
        try onlinecf(options, stdin: Array(events.utf8))
        let gone = "r:i2i:itemcf:cooccurrence:i3"
        let before = try client.execute(RedisCommand("ZRANGE", gone, "0", "-1", "WITHSCORES")).array!.compactMap(\.string)
        #expect(!before.isEmpty)
        #expect(try client.execute(RedisCommand("DEL", gone)).int == 1)
        let restart = try onlinecf(options, stdin: [])
        #expect(restart.stderr.contains("lists written: 1 "), "\(restart.stderr)")
        #expect(try client.execute(RedisCommand("ZRANGE", gone, "0", "-1", "WITHSCORES")).array!.compactMap(\.string) == before)
        let left = try client.execute(RedisCommand("PTTL", gone)).int ?? -3
        #expect(left > 0 && left <= 3_600_000)
    }

    /// A running job writes a live list again before its key's wall-clock TTL runs out,
    /// even though the list does not change (TTL 2 s, emissions every 200 ms, no new event).
    @Test func aRunningJobKeepsUnchangedListsAlive() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: try RedisEndpoint(url: redis.url))
        defer { client.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--redis", redis.url, "--namespace", "k", "--algos", "itemcf:cosine", "--ttl", "2s",
                             "--emit-interval", "200ms", "--no-progress"]
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        input.fileHandleForWriting.write(Data("""
        {"user":"u1","item":"a","ts":1000}
        {"user":"u1","item":"b","ts":1000}
        {"user":"u2","item":"a","ts":1000}

        """.utf8))
        let key = "k:i2i:itemcf:cosine:a"
        let started = Date()
        while (try client.execute(RedisCommand("EXISTS", key)).int ?? 0) == 0 {
            #expect(Date().timeIntervalSince(started) < 30, "no list written")
            if Date().timeIntervalSince(started) >= 30 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        for _ in 0..<8 {
            Thread.sleep(forTimeInterval: 0.5)
            let left = try client.execute(RedisCommand("PTTL", key)).int ?? -2
            #expect(left > 0 && left <= 2000, "PTTL \(left)")
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// A list longer than 128 members is written with DEL + ZADD (beyond a listpack): with
    /// `--ttl` its MULTI block also sets the expiry (`PEXPIRE`), like RESTORE's ttl does.
    @Test func listsWrittenWithZADDCarryTheTTLToo() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: try RedisEndpoint(url: redis.url))
        defer { client.close() }
        // One user with 200 items: every item co-occurs with the 199 others.
        let input = (0..<200).map { "{\"user\":\"u\",\"item\":\"i\($0)\",\"ts\":1000}\n" }.joined()
        try onlinecf(["run", "--redis", redis.url, "--namespace", "z", "--algos", "itemcf:cooccurrence", "-k", "150",
                      "--item-history", "0", "--ttl", "1h", "--no-progress"], stdin: Array(input.utf8))
        let key = "z:i2i:itemcf:cooccurrence:i0"
        #expect(try client.execute(RedisCommand("ZCARD", key)).int == 150)
        let left = try client.execute(RedisCommand("PTTL", key)).int ?? -3
        #expect(left > 3_000_000 && left <= 3_600_000, "PTTL \(left)")
    }
}
