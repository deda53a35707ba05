import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct RecallEndToEndTests {
    /// SAR's definition on ml-100k: seeds = rating · 2^(−(T − t)/30 days) summed per
    /// (user, item), loaded with `u2i load`; i2i = `itemcf:jaccard` lists holding every
    /// co-occurring item; seen items excluded, no other cap. Every user's top-20 equals
    /// A·S computed independently (what SAR's `recommend_k_items` returns).
    @Test(.enabled(if: SharedData.ml100k != nil, "needs ../shared/data/ml-100k.inter"))
    func u2i2iEqualsSAROnMovieLens() throws {
        let path = SharedData.ml100k!
        let sar = try SARReference(path: path, halfLifeSeconds: 30 * 86_400)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sar-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var seeds = ""
        for (u, row) in sar.affinity.enumerated() {
            for (i, w) in row { seeds += "\(sar.users[u])\t\(sar.items[i])\t\(w)\n" }
        }
        let seedsPath = dir.appendingPathComponent("seeds.tsv").path, usersPath = dir.appendingPathComponent("users.txt").path
        try seeds.write(toFile: seedsPath, atomically: true, encoding: .utf8)
        try sar.users.joined(separator: "\n").write(toFile: usersPath, atomically: true, encoding: .utf8)

        let redis = try TestRedis()
        let kv = ["--redis", redis.url, "--namespace", "sar"]
        try onlinecf(["batch", path, "--format", "inter", "--algos", "itemcf:jaccard", "--exact", "-k", "5000", "--no-progress"] + kv)
        try onlinecf(["u2i", "load", seedsPath] + kv)
        let out = try onlinecf(["u2i2i", "--users", usersPath, "--algo", "itemcf:jaccard", "--seeds", "u2i", "-n", "20",
                                "--max-seeds", "0", "--max-neighbours", "0"] + kv).stdout
        var ours: [String: [(String, Double)]] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: "\t")
            guard f.count == 3, let score = Double(f[2]) else { Issue.record("bad line \(line)"); continue }
            ours[String(f[0]), default: []].append((String(f[1]), score))
        }
        var failures = 0
        for (u, user) in sar.users.enumerated() {
            let all = sar.scores(user: u)
            let expected = SARReference.top(all, 20)
            let got = ours[user] ?? []
            var ok = got.count == expected.count
            for (r, (item, score)) in got.enumerated() where ok {
                let e = expected[r].1
                // Same score at each rank, and each returned item really has that score
                // (so only exact ties may swap).
                ok = abs(score - e) <= 1e-9 * e && abs((all[item] ?? -1) - score) <= 1e-9 * score
            }
            if !ok {
                failures += 1
                if failures <= 3 { Issue.record("user \(user): expected \(expected.prefix(5)), got \(got.prefix(5))") }
            }
        }
        #expect(failures == 0, "\(failures) of \(sar.users.count) users differ from SAR")
        #expect(ours.count == sar.users.count)
    }
}

@Suite(.serialized) struct ModerationEndToEndTests {
    /// Members of every sorted set under `pattern`, by key.
    func sortedSets(_ client: RedisClient, _ pattern: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        var cursor = "0"
        repeat {
            let reply = try client.execute(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", "1000"))
            cursor = reply.array![0].string!
            for key in reply.array![1].array!.compactMap(\.string) {
                out[key] = try client.execute(RedisCommand("ZRANGE", key, "0", "-1")).array!.compactMap(\.string)
            }
        } while cursor != "0"
        return out
    }

    func waitFor(_ what: String, timeout: Double = 120, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else { Issue.record("timed out waiting for \(what)"); return }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Hidden, deleted and expired items: never served by `i2i` or `u2i2i`, and gone from
    /// every stored i2i and u2i2i list at the running job's next emission; unhidden ones
    /// come back. At the end the lists equal a batch over the same events and statuses.
    @Test func moderatedItemsLeaveEveryListAtTheNextEmission() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: try RedisEndpoint(url: redis.url))
        defer { client.close() }
        let lines = try generatedEvents(6000, users: 300, items: 120, seed: 11).split(separator: 0x0A).map { Array($0) + [0x0A] }
        let options = ["--redis", redis.url, "--algos", "itemcf:cosine,itemcf:jaccard,swing", "--swing-min-user-behavior", "3",
                       "--recall", "itemcf:cosine,itemcf:jaccard:0.5", "--recall-half-life", "1h", "-n", "20", "--no-progress"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--namespace", "live", "--emit-interval", "200ms"] + options
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        input.fileHandleForWriting.write(Data(lines[0..<4000].joined()))
        // Every list of the first 4,000 events written: all committed, and the emitted mark there.
        try waitFor("the first 4,000 events' lists are written", timeout: 120) {
            let meta = (try client.execute(RedisCommand("HMGET", "live:{live/0}:meta", "lines_committed", "log_chunks", "emitted_chunks")).array ?? []).map { Int($0.string ?? "") ?? 0 }
            return meta[0] == 4000 && meta[1] > 0 && meta[2] == meta[1]
        }

        // The three items most often listed as neighbours.
        var counts: [String: Int] = [:]
        for (_, members) in try sortedSets(client, "live:i2i:itemcf:cosine:*") { for m in members { counts[m, default: 0] += 1 } }
        let popular = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        let (hidden, expired, expiring, deleted) = (popular[0], popular[1], popular[2], popular[3])
        // A list holding the hidden item whose own item is not moderated (a moderated item's
        // own list is deleted at the next emission, which may come before the read below).
        let moderated: Set<String> = [hidden, expired, expiring, deleted]
        let holder = try sortedSets(client, "live:i2i:itemcf:cosine:*")
            .first { $0.value.contains(hidden) && !moderated.contains(String($0.key.split(separator: ":").last!)) }!.key.split(separator: ":").last!
        let user = try sortedSets(client, "live:u2i2i:*").first { $0.value.contains(hidden) }.map { String($0.key.split(separator: ":").last!) } ?? "u1"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let kv = ["--redis", redis.url, "--namespace", "live"]
        try onlinecf(["items", "set", hidden, "--status", "hidden"] + kv)
        try onlinecf(["items", "set", expired, "--expires", String(now - 1000)] + kv)
        try onlinecf(["items", "set", expiring, "--expires", String(now + 3000)] + kv)
        try onlinecf(["items", "set", deleted, "--status", "deleted"] + kv)

        // Served answers filter at once.
        let served = try onlinecf(["i2i", String(holder), "--algo", "itemcf:cosine", "-k", "50"] + kv).stdout
        #expect(!served.isEmpty && !served.contains("\(hidden)\t") && !served.contains("\(expired)\t"))
        let recall = try onlinecf(["u2i2i", user, "--algo", "itemcf:cosine,itemcf:jaccard:0.5", "-n", "100"] + kv).stdout
        #expect(!recall.isEmpty && !recall.contains("\(hidden)\t") && !recall.contains("\(expired)\t") && !recall.contains("\(deleted)\t"))

        // Stored lists lose them at the next emission, and their own lists go.
        func holders(_ item: String) throws -> [String] {
            try sortedSets(client, "live:i2i:*").merging(try sortedSets(client, "live:u2i2i:*")) { a, _ in a }
                .filter { $0.value.contains(item) || $0.key.hasSuffix(":\(item)") && $0.key.contains(":i2i:") }.map(\.key)
        }
        try waitFor("hidden, deleted and expired items to leave the lists") { try holders(hidden).isEmpty && holders(expired).isEmpty && holders(deleted).isEmpty }
        #expect(try holders(expiring).count > 0, "the item expiring later is still listed")
        try waitFor("the expiring item to leave the lists") { try holders(expiring).isEmpty }

        // Unhidden, it comes back.
        try onlinecf(["items", "set", hidden, "--status", "active"] + kv)
        try waitFor("the unhidden item to return") { try !holders(hidden).isEmpty }
        input.fileHandleForWriting.write(Data(lines[4000...].joined()))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try holders(expired).isEmpty && holders(expiring).isEmpty && holders(deleted).isEmpty)

        // A backfill of the same events with the same item table writes the same lists.
        let calm = ["--redis", redis.url, "--namespace", "calm"]
        try onlinecf(["items", "set", expired, "--expires", String(now - 1000)] + calm)
        try onlinecf(["items", "set", expiring, "--expires", String(now + 3000)] + calm)
        try onlinecf(["items", "set", deleted, "--status", "deleted"] + calm)
        try onlinecf(["batch", "-", "--namespace", "calm"] + options, stdin: Array(lines.joined()))
        for family in ["itemcf:cosine", "itemcf:jaccard", "recent", "u2i2i"] {
            let a = try onlinecf(["export", "--algo", family] + kv).stdout, b = try onlinecf(["export", "--algo", family] + calm).stdout
            #expect(!a.isEmpty && a == b, "\(family) differs between the streamed and the backfilled namespace")
        }
        // What `u2i2i` serves from the stored seeds equals the stored recall list.
        let stored = parseExport(try onlinecf(["export", "--algo", "u2i2i"] + kv).stdout)
        for user in stored.keys.sorted().prefix(20) {
            let answer = try onlinecf(["u2i2i", user, "--algo", "itemcf:cosine,itemcf:jaccard:0.5", "--seeds", "recent", "-n", "20"] + kv).stdout
            let served = answer.split(separator: "\n").map { l in let f = l.split(separator: "\t"); return (String(f[0]), Double(f[1])!) }
            #expect(served.map(\.0) == stored[user]!.map(\.0) && zip(served, stored[user]!).allSatisfy { abs($0.1 - $1.1) <= 1e-12 * $1.1 }, "user \(user)")
        }
    }
}

@Suite(.serialized) struct WeightedStreamTests {
    /// Action weights (a negative one included) and decay: streaming in two runs (the
    /// second replays the first's log) writes the same lists as a backfill. The backfill
    /// sums each entry over its baskets in another order than the stream's increments, so
    /// scores agree within 1e-12 relative (ties within it may order either way).
    @Test func weightedDecayedStreamEqualsBatch() throws {
        let lines = try generatedEvents(12_000, users: 400, items: 150, seed: 19).split(separator: 0x0A).map { Array($0) + [0x0A] }
        let redis = try TestRedis()
        let options = ["--redis", redis.url, "--algos", "itemcf,u2u", "--action-weights", "click=1,like=2,comment=2,collect=3,share=3,*=-1",
                       "--decay-half-life", "30m", "--no-progress"]
        try onlinecf(["run", "--namespace", "live", "--emit-interval", "100ms"] + options, stdin: Array(lines[..<7000].joined()))
        try onlinecf(["run", "--namespace", "live", "--emit-interval", "100ms"] + options, stdin: Array(lines[7000...].joined()))
        try onlinecf(["batch", "-", "--namespace", "calm"] + options, stdin: Array(lines.joined()))
        for algorithm in ["itemcf:cooccurrence", "itemcf:cosine", "itemcf:jaccard", "itemcf:lift", "u2u:cosine"] {
            let a = try onlinecf(["export", "--algo", algorithm, "--namespace", "live", "--redis", redis.url]).stdout
            let b = try onlinecf(["export", "--algo", algorithm, "--namespace", "calm", "--redis", redis.url]).stdout
            #expect(!a.isEmpty)
            expectSameLists(parseExport(a), parseExport(b), tolerance: 1e-12, "\(algorithm): streamed vs backfilled")
        }
    }

    /// Frequency admission and the hot-user guard: two runs (the second restoring the
    /// first's log and admission sketch) write what one backfill writes.
    @Test func admissionAndHotUserGuardSurviveARestart() throws {
        let lines = try generatedEvents(12_000, users: 600, items: 2_000, seed: 23).split(separator: 0x0A).map { Array($0) + [0x0A] }
        let redis = try TestRedis()
        let options = ["--redis", redis.url, "--algos", "itemcf:cosine,u2u", "--admit-after", "2", "--hot-user-limit", "25",
                       "--hot-user-window", "10m", "--no-progress"]
        try onlinecf(["run", "--namespace", "live"] + options, stdin: Array(lines[..<6000].joined()))
        let second = try onlinecf(["run", "--namespace", "live"] + options, stdin: Array(lines[6000...].joined()))
        #expect(second.stderr.contains("left out: "), "\(second.stderr)")
        try onlinecf(["batch", "-", "--namespace", "calm"] + options, stdin: Array(lines.joined()))
        for algorithm in ["itemcf:cosine", "u2u:cosine"] {
            let a = try onlinecf(["export", "--algo", algorithm, "--namespace", "live", "--redis", redis.url]).stdout
            let b = try onlinecf(["export", "--algo", algorithm, "--namespace", "calm", "--redis", redis.url]).stdout
            #expect(!a.isEmpty && a == b, "\(algorithm) differs between the streamed and the backfilled namespace")
        }
    }
}
