import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFKV
import OnlineCFTestSupport

/// The whole path with real parts: the `onlinecf` binary, a real redis-server, stdin.
@Suite(.serialized) struct EndToEndTests {
    static let itemCF: [Algorithm] = [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift]

    @Test(.enabled(if: SharedData.ml100k != nil, "needs ../shared/data/ml-100k.inter"))
    func ml100kStreamAndBatchAreExact() throws {
        let path = SharedData.ml100k!
        let redis = try TestRedis()
        let kv = ["--redis", redis.url]
        let run = try onlinecf(["run", "--format", "inter", "--exact", "--namespace", "stream"] + kv, stdinFile: path)
        #expect(run.stderr.contains("events: 100000"))
        try onlinecf(["batch", "--format", "inter", "--exact", "--namespace", "batch", path] + kv)
        let events = try decodeEvents(path: path, format: .inter)
        #expect(events.count == 100_000)
        for algorithm in Self.itemCF + [.u2uCosine] {
            let expected = BruteForce.lists(events: events, algorithm: algorithm, k: 50)
            let streamed = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "stream"] + kv).stdout
            let batched = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "batch"] + kv).stdout
            expectSameLists(expected, parseExport(streamed), "ml-100k \(algorithm.rawValue) (run)")
            #expect(streamed == batched, "batch differs from run for \(algorithm.rawValue)")
        }
        #expect(try onlinecf(["export", "--algo", "a2a:cosine", "--namespace", "stream"] + kv).stdout.isEmpty)
    }

    @Test(arguments: [true, false])
    func generatedDataMatchesTheFormulas(exact: Bool) throws {
        let input = try generatedEvents(30_000, users: 1500, items: 900, seed: 9)
        let redis = try TestRedis()
        let kv = ["--redis", redis.url]
        let bounds = ["--item-history", "5", "--user-history", "4", "--author-history", "3"]
        let params = exact ? ["--exact"] : bounds
        // A short emit interval makes the stream emit many times before its end.
        try onlinecf(["run", "--emit-interval", "100ms", "-k", "20", "--namespace", "s"] + params + kv, stdin: input)
        try onlinecf(["batch", "-k", "20", "--namespace", "b", "-"] + params + kv, stdin: input)
        let events = try decodeEvents(bytes: input, format: .jsonl)
        let b = exact ? BruteForce.Bounds() : BruteForce.Bounds(itemHistory: 5, userHistory: 4, authorHistory: 3)
        for algorithm in Algorithm.cooccurrenceAlgorithms {
            let expected = BruteForce.lists(events: events, algorithm: algorithm, k: 20, bounds: b)
            let streamed = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "s"] + kv).stdout
            expectSameLists(expected, parseExport(streamed), "generated \(algorithm.rawValue) exact=\(exact)")
            let batched = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "b"] + kv).stdout
            #expect(streamed == batched, "batch differs from run for \(algorithm.rawValue)")
        }
    }

    @Test func secondRunContinuesFromTheStoredState() throws {
        let input = try generatedEvents(8_000, users: 400, items: 300, seed: 4)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }
        let first = Array(lines.prefix(5000).joined()), second = Array(lines.dropFirst(5000).joined())
        let redis = try TestRedis()
        let kv = ["--redis", redis.url]
        try onlinecf(["run", "--namespace", "split"] + kv, stdin: first)
        let resumed = try onlinecf(["run", "--namespace", "split"] + kv, stdin: second)
        #expect(resumed.stderr.contains("replayed"))
        try onlinecf(["run", "--namespace", "whole"] + kv, stdin: input)
        for algorithm in Algorithm.allCases {
            let split = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "split"] + kv).stdout
            let whole = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "whole"] + kv).stdout
            #expect(split == whole, "\(algorithm.rawValue): split run differs from one run")
            #expect(!whole.isEmpty)
        }
        // Replaying the same input again changes nothing: pairs count once.
        try onlinecf(["run", "--namespace", "whole"] + kv, stdin: input)
        let again = try onlinecf(["export", "--algo", "itemcf:cosine", "--namespace", "whole"] + kv).stdout
        #expect(again == (try onlinecf(["export", "--algo", "itemcf:cosine", "--namespace", "split"] + kv).stdout))
    }

    @Test func tcpAndQueryCommands() throws {
        let redis = try TestRedis(tcp: true)
        #expect(redis.url.hasPrefix("redis://127.0.0.1:"))
        let kv = ["--redis", redis.url]
        let input = Array("""
        {"user":"u1","item":"a","author":"x"}
        {"user":"u1","item":"b","author":"y"}
        {"user":"u2","item":"a"}
        {"user":"u2","item":"b"}
        {"user":"u2","item":"c","author":"y"}
        {"user":"u3","item":"a"}

        """.utf8)
        try onlinecf(["run"] + kv, stdin: input)
        // C(a,b) = 2, d_a = 3, d_b = 2, d_c = 1, C(a,c) = 1.
        #expect(try onlinecf(["i2i", "a", "--algo", "itemcf:cooccurrence"] + kv).stdout == "b\t2.0\nc\t1.0\n")
        #expect(try onlinecf(["i2i", "a", "-k", "1"] + kv).stdout == "b\t\(2 / (3.0 * 2).squareRoot())\n")
        #expect(try onlinecf(["u2u", "u1"] + kv).stdout == "u2\t\(2 / (2 * 3.0).squareRoot())\nu3\t\(1 / (2 * 1.0).squareRoot())\n")
        // Authors: x has users u1, u2, u3 (item a); y has u1, u2 → C = 2, cos = 2/√6.
        #expect(try onlinecf(["a2a", "x"] + kv).stdout == "y\t\(2 / (3 * 2.0).squareRoot())\n")
        let missing = try onlinecf(["i2i", "nope"] + kv)
        #expect(missing.stdout.isEmpty && missing.stderr.contains("no itemcf:cosine list for 'nope'"))
    }

    @Test func itemTableSuppliesAuthors() throws {
        let redis = try TestRedis()
        let kv = ["--redis", redis.url]
        let table = FileManager.default.temporaryDirectory.appendingPathComponent("items-\(UUID()).tsv").path
        try "item\tauthor\na\tx\nb\ty\nbad line without tab\n".write(toFile: table, atomically: true, encoding: .utf8)
        let load = try onlinecf(["items", "load", table] + kv)
        #expect(load.stderr.contains("loaded 2 items, 1 malformed"))
        #expect(load.stderr.contains("line 4:"))
        try onlinecf(["run", "--format", "tsv"] + kv, stdin: Array("u1\ta\nu1\tb\nu2\ta\nu2\tb\n".utf8))
        #expect(try onlinecf(["a2a", "x"] + kv).stdout == "y\t1.0\n")
    }

    @Test func embeddedRedisIsStartedAndKeepsItsData() throws {
        let home = "/tmp/ocf-home-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["ONLINECF_HOME": home]
        try onlinecf(["run"], stdin: Array("{\"user\":\"u\",\"item\":\"p\"}\n{\"user\":\"u\",\"item\":\"q\"}\n".utf8), environment: env)
        #expect(FileManager.default.fileExists(atPath: home + "/dump.rdb"), "the private server saved its data")
        #expect(try onlinecf(["i2i", "p", "--algo", "itemcf:cooccurrence"], environment: env).stdout == "q\t1.0\n")
        // Nothing is left running: the socket no longer answers.
        #expect(!isRedisAlive(endpoint: try RedisEndpoint(url: "unix://\(home)/redis.sock")))
    }
}

