import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

/// `--threads` (partitions, and the cores that compute lists) never changes a list.
@Suite(.serialized) struct ThreadsTests {
    func exports(_ namespace: String, _ kv: [String], _ families: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for family in families { out[family] = try onlinecf(["export", "--algo", family, "--namespace", namespace] + kv).stdout }
        return out
    }

    /// ItemCF (one normalised measure and the raw count) and u2u: the partitioned rows.
    @Test(.enabled(if: SharedData.ml100k != nil, "needs ../shared/data/ml-100k.inter"))
    func ml100kExportsAreByteIdenticalForEveryThreadCount() throws {
        let path = SharedData.ml100k!
        let redis = try TestRedis()
        let kv = ["--redis", redis.url]
        let families = ["itemcf:cosine", "itemcf:cooccurrence", "u2u:cosine"]
        let model = ["--algos", families.joined(separator: ","), "--no-progress"]
        var reference: [String: String]?
        for threads in [1, 2, 3, 8] {
            try onlinecf(["run", "--format", "inter", "--threads", String(threads), "--namespace", "run\(threads)"] + model + kv, stdinFile: path)
            let streamed = try exports("run\(threads)", kv, families)
            if let reference { #expect(streamed == reference, "run --threads \(threads)") } else { reference = streamed }
        }
        #expect(reference?.values.allSatisfy { !$0.isEmpty } == true)
        for threads in [1, 8] {
            try onlinecf(["batch", "--format", "inter", "--threads", String(threads), "--namespace", "batch\(threads)", path] + model + kv)
            #expect(try exports("batch\(threads)", kv, families) == reference, "batch --threads \(threads)")
        }
    }

    @Test func weightedDecayedExportsAreByteIdenticalForEveryThreadCount() throws {
        let input = try generatedEvents(20_000, users: 800, items: 600, seed: 31)
        let redis = try TestRedis()
        let kv = ["--redis", redis.url]
        let options = ["--algos", "itemcf,u2u", "--action-weights", "click=1,like=2,comment=2,collect=3,share=3,*=-1",
                       "--decay-half-life", "30m", "--no-progress", "-k", "20"]
        let families = ["itemcf:cooccurrence", "itemcf:cosine", "itemcf:jaccard", "itemcf:lift", "u2u:cosine"]
        var batchReference: [String: String]?, runReference: [String: String]?
        for threads in [1, 2, 3, 8] {
            try onlinecf(["batch", "-", "--threads", String(threads), "--namespace", "b\(threads)"] + options + kv, stdin: input)
            let batched = try exports("b\(threads)", kv, families)
            if let batchReference { #expect(batched == batchReference, "batch --threads \(threads)") } else { batchReference = batched }
            try onlinecf(["run", "--threads", String(threads), "--emit-interval", "100ms", "--namespace", "r\(threads)"] + options + kv, stdin: input)
            let streamed = try exports("r\(threads)", kv, families)
            if let runReference { #expect(streamed == runReference, "run --threads \(threads)") } else { runReference = streamed }
        }
        #expect(batchReference?.values.allSatisfy { !$0.isEmpty } == true)
    }
}
