import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

/// Bad input gets a clear error, is counted, goes to the dead-letter file, and the run goes on.
@Suite(.serialized) struct BadInputTests {
    @Test func malformedLineInTheMiddleIsReportedAndTheRestCounted() throws {
        let redis = try TestRedis()
        let deadLetter = "/tmp/ocf-dead-\(UUID().uuidString.prefix(8)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: deadLetter) }
        let input = """
        {"user":"u1","item":"a"}
        {"user":"u1","item":"b"}
        {"user":"u2","item":
        {"user":"u2","item":"a"}
        {"user":"u2","item":"b"}

        """
        let result = try onlinecf(["run", "--redis", redis.url, "--dead-letter", deadLetter], stdin: Array(input.utf8))
        #expect(result.stderr.contains("line 3: "), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("events: 4 "))
        #expect(result.stderr.contains("malformed: 1 "))
        #expect(try String(contentsOfFile: deadLetter, encoding: .utf8) == "{\"user\":\"u2\",\"item\":\n")
        #expect(try onlinecf(["i2i", "a", "--algo", "itemcf:cooccurrence", "--redis", redis.url]).stdout == "b\t2.0\n")
    }

    @Test func everyMalformedKindIsReportedWithItsLineNumber() throws {
        let redis = try TestRedis()
        let deadLetter = "/tmp/ocf-dead-\(UUID().uuidString.prefix(8)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: deadLetter) }
        var input: [UInt8] = []
        func line(_ s: String) { input += Array(s.utf8) + [0x0A] }
        line(#"{"user":"u1","item":"i1"}"#)                              // 1 good
        line(#"not json"#)                                                // 2
        line(#"{"user":"u1"}"#)                                           // 3 missing item
        line(#"{"item":"i1"}"#)                                           // 4 missing user
        line("{\"user\":\"\(String(repeating: "x", count: 513))\",\"item\":\"i\"}") // 5 id too long
        line(#"{"user":"u1","item":"i2","ts":"yesterday"}"#)              // 6 bad ts
        input += Array(#"{"user":"u"#.utf8) + [0xFF, 0xFE] + Array(#"","item":"i"}"#.utf8) + [0x0A] // 7 invalid UTF-8
        input += Array(#"{"user":"big","item":""#.utf8) + [UInt8](repeating: 0x61, count: 10_000_000) + Array(#""}"#.utf8) + [0x0A] // 8: 10 MB
        line(#"{"user":"u2","item":"i1"}"#)                               // 9 good
        line(#"{"user":"u2","item":"i2"}"#)                               // 10 good
        let result = try onlinecf(["run", "--redis", redis.url, "--dead-letter", deadLetter], stdin: input)
        for n in 2...8 { #expect(result.stderr.contains("line \(n): "), "no report for line \(n): \(result.stderr)") }
        #expect(result.stderr.contains("missing \"item\""))
        #expect(result.stderr.contains("invalid UTF-8"))
        #expect(result.stderr.contains("the limit is 1048576"))
        #expect(result.stderr.contains("events: 3 "))
        #expect(result.stderr.contains("malformed: 7 "))
        let dead = try Data(contentsOf: URL(fileURLWithPath: deadLetter))
        #expect(dead.count > 10_000_000, "the whole 10 MB line is in the dead-letter file")
        #expect(dead.split(separator: 0x0A).count == 7)
        #expect(try onlinecf(["i2i", "i1", "--algo", "itemcf:cooccurrence", "--redis", redis.url]).stdout == "i2\t1.0\n")
    }

    @Test func emptyInputIsFine() throws {
        let redis = try TestRedis()
        let result = try onlinecf(["run", "--redis", redis.url], stdin: [])
        #expect(result.stderr.contains("events: 0 "))
        #expect(try onlinecf(["export", "--algo", "itemcf:cosine", "--redis", redis.url]).stdout.isEmpty)
    }

    @Test func oddIdsSurviveTheRoundTrip() throws {
        let redis = try TestRedis()
        let ids = ["with space", "tab\there", "quote\"d", "back\\slash", "naïve café", "日本語", "🙂", "new\nline", "42", "4.20"]
        var input: [UInt8] = []
        for (n, id) in ids.enumerated() {
            let escaped = id.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\n", with: "\\n")
            input += Array("{\"user\":\"u\",\"item\":\"\(escaped)\",\"ts\":\(1000 + n)}\n".utf8)
        }
        input += Array("{\"user\":\"v\",\"item\":4.20}\n{\"user\":\"v\",\"item\":\"日本語\"}\n".utf8)
        try onlinecf(["run", "--redis", redis.url], stdin: input)
        let lists = parseExport(try onlinecf(["export", "--algo", "itemcf:cooccurrence", "--redis", redis.url]).stdout)
        #expect(Set(lists.keys) == Set(ids))
        #expect(lists["4.20"]?.first?.id == "日本語" && lists["4.20"]?.first?.score == 2)
        #expect(Set(lists["tab\there"]!.map(\.id)) == Set(ids).subtracting(["tab\there"]))
    }

    @Test func badOptionsSayWhatToDo() throws {
        let bad = try OnlineCFBinary.run(["run", "--algos", "swung"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown algorithm 'swung'"))
        let interval = try OnlineCFBinary.run(["run", "--emit-interval", "soon"])
        #expect(interval.status != 0 && interval.stderr.contains("emit_interval"))
        let namespace = try OnlineCFBinary.run(["export", "--algo", "itemcf:cosine", "--namespace", "a b", "--redis", "redis://127.0.0.1:1"])
        #expect(namespace.status != 0 && namespace.stderr.contains("invalid namespace"))
        let url = try OnlineCFBinary.run(["export", "--algo", "itemcf:cosine", "--redis", "http://x"])
        #expect(url.status != 0 && url.stderr.contains("redis://"))
        let redis = try TestRedis()
        let missingHeader = try OnlineCFBinary.run(["batch", "--format", "inter", "--redis", redis.url, "-"], stdin: Array("1\t2\n".utf8))
        #expect(missingHeader.status != 0 && missingHeader.stderr.contains("line 1: "), "\(missingHeader.stderr)")
    }
}
