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
    @Test func u2i2iEqualsSAROnMovieLens() throws {
        let path = try #require(SharedData.ml100k)
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
