import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct SwingEndToEndTests {
    /// `onlinecf batch --algos swing -k 50` on MovieLens-100K with Flink ML's defaults
    /// equals the brute-force formula; a streaming run equals batch at the end of its input
    /// (its last emission recomputes every waiting row), with no rebuild; with increments
    /// only (`--swing-refresh-rows 0`) it approximates, and `rebuild` makes it equal.
    @Test(.enabled(if: SharedData.ml100k != nil, "needs ../shared/data/ml-100k.inter"))
    func ml100kBatchSwingIsExactAndStreamingMatchesIt() throws {
        let path = SharedData.ml100k!
        let redis = try TestRedis()
        let kv = ["--redis", redis.url]
        try onlinecf(["batch", "--format", "inter", "--algos", "swing", "-k", "50", "--namespace", "b", path] + kv)
        let batched = try onlinecf(["export", "--algo", "swing", "--namespace", "b"] + kv).stdout
        let events = try decodeEvents(path: path, format: .inter)
        let expected = BruteForce.swing(events: events, parameters: SwingParameters(), k: 50)
        expectSameLists(expected, parseExport(batched), tolerance: 1e-9, "ml-100k swing (batch)")

        let run = try onlinecf(["run", "--format", "inter", "--algos", "swing", "-k", "50", "--namespace", "s"] + kv, stdinFile: path)
        #expect(run.stderr.contains("Swing rows recomputed exactly: 1682") && run.stderr.contains("waiting: 0"), "\(run.stderr)")
        #expect(try onlinecf(["export", "--algo", "swing", "--namespace", "s"] + kv).stdout == batched)

        try onlinecf(["run", "--format", "inter", "--algos", "swing", "-k", "50", "--swing-refresh-rows", "0", "--namespace", "i"] + kv, stdinFile: path)
        let incremented = try onlinecf(["export", "--algo", "swing", "--namespace", "i"] + kv).stdout
        #expect(incremented != batched, "increments alone approximate")
        let rebuild = try onlinecf(["rebuild", "--algos", "swing", "-k", "50", "--namespace", "i"] + kv)
        #expect(rebuild.stderr.contains("exact Swing rebuilds: 1"))
        #expect(try onlinecf(["export", "--algo", "swing", "--namespace", "i"] + kv).stdout == batched)
    }

    /// A restart replays the log and rebuilds at the recorded point, so a split run with a
    /// rebuild in between equals one run with the same rebuild.
    @Test func replayHonoursTheRebuildPoint() throws {
        let input = try generatedEvents(20_000, users: 600, items: 300, seed: 12)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }
        let first = Array(lines.prefix(12_000).joined()), second = Array(lines.dropFirst(12_000).joined())
        let redis = try TestRedis()
        let store = ["--redis", redis.url]
        let kv = store + ["--algos", "swing", "--swing-min-user-behavior", "3"]
        for ns in ["a", "b"] {
            try onlinecf(["run", "--namespace", ns] + kv, stdin: first)
            try onlinecf(["rebuild", "--namespace", ns] + kv)
        }
        try onlinecf(["run", "--namespace", "a"] + kv, stdin: second)
        // b: the second half after a restart that replays the first half and the rebuild.
        try onlinecf(["run", "--namespace", "b"] + kv, stdin: [])
        try onlinecf(["run", "--namespace", "b"] + kv, stdin: second)
        let a = try onlinecf(["export", "--algo", "swing", "--namespace", "a"] + store).stdout
        let b = try onlinecf(["export", "--algo", "swing", "--namespace", "b"] + store).stdout
        #expect(!a.isEmpty && a == b)
    }
}
