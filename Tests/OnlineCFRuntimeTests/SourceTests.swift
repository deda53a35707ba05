import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

/// `run --source`: files and folders resumed at the position committed with the state,
/// Redis Streams acknowledged after commit, and the validation of `source`.
@Suite(.serialized) struct SourceTests {
    /// The first `count` data lines of MovieLens-100K (its header first), or nil without the data.
    static func movieLensLines(_ count: Int) throws -> (header: String, lines: [String])? {
        guard let path = SharedData.ml100k else { return nil }
        let all = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        return (String(all[0]), all.dropFirst().prefix(count).map(String.init))
    }

    static func temporaryFolder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocf-src-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Starts the command and SIGKILLs it after a random delay until it has been killed
    /// `times` times. A run that ends by itself before its kill (a loaded machine, or the
    /// input used up) halves the delay range, so the kills keep landing: mid-read at first,
    /// in start-up and replay once little is left. Returns the number of kills.
    static func killRepeatedly(_ arguments: [String], times: Int, seed: UInt64, span initialSpan: Double = 1.2) throws -> Int {
        var generator = SplitMix64(seed: seed)
        var killed = 0, attempts = 0
        var span = initialSpan
        while killed < times && attempts < 4 * times {
            attempts += 1
            let process = Process()
            process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: 0.05 + span * Double(generator.next() % 1000) / 1000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL); killed += 1 } else { span /= 2 }
            process.waitUntilExit()
        }
        return killed
    }

    static func expectSameExports(_ redis: TestRedis, _ a: String, _ b: String, note: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        for algorithm in Algorithm.allCases {
            let x = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", a, "--redis", redis.url]).stdout
            let y = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", b, "--redis", redis.url]).stdout
            // MovieLens has no authors: a2a is empty in both.
            #expect((algorithm == .a2aCosine || !y.isEmpty) && x == y, "\(algorithm.rawValue) differs \(note)", sourceLocation: sourceLocation)
        }
    }

    /// A folder of two .inter files, SIGKILLed ten times at random points and restarted
    /// with the same command: every run resumes at the committed position, so after the
    /// last one every list equals an uninterrupted run's, and the run that completes reads
    /// exactly the lines after the committed position.
    @Test(.enabled(if: SharedData.ml100k != nil, "needs ../shared/data/ml-100k.inter"))
    func fileSourceKilledTenTimesEqualsAnUninterruptedRun() throws {
        let (header, lines) = try #require(try Self.movieLensLines(16_000))
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, part) in [("part-1.inter", lines[..<8_000]), ("part-2.inter", lines[8_000...])] {
            try ([header] + part).joined(separator: "\n").appending("\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        let redis = try TestRedis()
        let options = ["--redis", redis.url, "--source", "file:" + dir, "--format", "inter", "--algos", "all",
                       "--swing-min-user-behavior", "3", "-k", "20", "--emit-interval", "100ms", "--no-progress",
                       "--checkpoint-every", "1500"]
        let killed = try Self.killRepeatedly(["run", "--namespace", "crashy"] + options, times: 10, seed: 11)
        #expect(killed == 10, "killed \(killed) times")

        let last = try onlinecf(["run", "--namespace", "crashy"] + options)
        // Lines after the committed position: the rest of that file, then the next file.
        let resumed = try #require(last.stderr.firstMatch(of: #/resumed: reading (part-\d)\.inter from line (\d+) /#), "\(last.stderr)")
        let startLine = Int(resumed.2)!
        let expectedLines = (resumed.1 == "part-1" ? 8_001 + 8_001 : 8_001) - (startLine - 1)
        #expect(last.stderr.contains("lines read: \(expectedLines) "), "resumed at \(resumed.0): \(last.stderr)")

        try onlinecf(["run", "--namespace", "calm"] + options)
        try Self.expectSameExports(redis, "crashy", "calm", note: "after \(killed) kills")
        let again = try onlinecf(["run", "--namespace", "crashy"] + options)
        #expect(again.stderr.contains("resumed: reading part-2.inter from line 8002 ") && again.stderr.contains("lines read: 0 "), "\(again.stderr)")
    }

    /// `--follow` on a folder: lines appended to the last file and a new file are read; a
    /// last line without its newline waits for it; SIGTERM ends the job with status 0.
    @Test func folderFollowPicksUpAppendedLinesAndNewFiles() throws {
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func line(_ u: Int, _ i: Int) -> String { "{\"user\":\"u\(u)\",\"item\":\"i\(i)\"}\n" }
        var all = [line(1, 1), line(1, 2), line(2, 1)]
        try all.joined().write(toFile: dir + "/a.jsonl", atomically: true, encoding: .utf8)
        try (line(2, 2) + line(3, 1) + "{\"user\":\"u3\",").write(toFile: dir + "/b.jsonl", atomically: true, encoding: .utf8)
        all += [line(2, 2), line(3, 1)]
        let redis = try TestRedis()
        let client = RedisClient(endpoint: redis.server.endpoint)
        func position() throws -> String? {
            let fields = try client.execute(RedisCommand("HGETALL", "f:{f/0}:meta")).array?.compactMap(\.string) ?? []
            guard let k = fields.firstIndex(where: { $0.hasPrefix("source:file:") }), k + 1 < fields.count else { return nil }
            return fields[k + 1]
        }
        func waitFor(_ expected: String) throws {
            let deadline = Date().addingTimeInterval(20)
            while try position() != expected && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(try position() == expected)
        }
        let options = ["--redis", redis.url, "--algos", "itemcf,u2u", "--emit-interval", "100ms", "--no-progress"]
        let errPath = dir + ".err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--namespace", "f", "--source", "file:" + dir, "--follow"] + options
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()

        let bComplete = (line(2, 2) + line(3, 1)).utf8.count
        try waitFor("b.jsonl:\(bComplete):2")  // the partial third line is held
        let b = try #require(FileHandle(forWritingAtPath: dir + "/b.jsonl"))
        b.seekToEndOfFile()
        b.write(Data("\"item\":\"i2\"}\n".utf8) + Data(line(4, 1).utf8))
        try b.close()
        all += [line(3, 2), line(4, 1)]
        try waitFor("b.jsonl:\(bComplete + "{\"user\":\"u3\",\"item\":\"i2\"}\n".utf8.count + line(4, 1).utf8.count):4")
        try (line(4, 2) + line(5, 2)).write(toFile: dir + "/c.jsonl", atomically: true, encoding: .utf8)
        all += [line(4, 2), line(5, 2)]
        try waitFor("c.jsonl:\((line(4, 2) + line(5, 2)).utf8.count):2")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("lines read: 9 "), "\(stderr)")

        try onlinecf(["run", "--namespace", "ref"] + options, stdin: Array(all.joined().utf8))
        for algorithm in ["itemcf:cooccurrence", "itemcf:cosine", "u2u:cosine"] {
            let f = try onlinecf(["export", "--algo", algorithm, "--namespace", "f", "--redis", redis.url]).stdout
            let ref = try onlinecf(["export", "--algo", algorithm, "--namespace", "ref", "--redis", redis.url]).stdout
            #expect(!ref.isEmpty && f == ref, "\(algorithm)")
        }
    }

    /// A second run over a grown file reads only the new lines, and reports a malformed one
    /// with its line number within the file.
    @Test func fileResumesAtTheCommittedPositionWithFileLineNumbers() throws {
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.tsv"
        try "user\titem\nu1\ti1\nu2\ti1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let redis = try TestRedis()
        let options = ["run", "--redis", redis.url, "--source", "file:" + path, "--format", "tsv", "--columns", "user,item",
                       "--algos", "itemcf", "--no-progress"]
        let first = try onlinecf(options)
        #expect(first.stderr.contains("lines read: 3 ") && !first.stderr.contains("resumed"), "\(first.stderr)")
        let file = try #require(FileHandle(forWritingAtPath: path))
        file.seekToEndOfFile()
        file.write(Data("u1\ti2\n\tno user\nu2\ti2\n".utf8))
        try file.close()
        let second = try onlinecf(options)
        #expect(second.stderr.contains("resumed: reading events.tsv from line 4 (byte 22)"), "\(second.stderr)")
        #expect(second.stderr.contains("line 5: ") && second.stderr.contains("lines read: 3  events: 2 "), "\(second.stderr)")
        let lists = try onlinecf(["export", "--algo", "itemcf:cooccurrence", "--redis", redis.url]).stdout
        #expect(lists == "i1\ti2\t2.0\ni2\ti1\t2.0\n", "\(lists)")
    }

    /// At start a stream source acknowledges the entries of the last commit without reading
    /// them, re-reads its own other pending entries, reclaims a dead consumer's, then reads
    /// new ones.
    @Test func streamStartAcknowledgesCommittedEntriesAndReclaimsPendingOnes() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: redis.server.endpoint)
        try Self.xadd(client, "ev", (1...4).map { "{\"user\":\"u\($0 % 2)\",\"item\":\"i\($0)\"}" })
        try client.execute(RedisCommand("XGROUP", "CREATE", "ev", "g", "0"))
        let own = try client.execute(RedisCommand("XREADGROUP", "GROUP", "g", "onlinecf-ocf", "COUNT", "2", "STREAMS", "ev", ">"))
        let ids = (own.array?.first?.array?[1].array ?? []).compactMap { $0.array?.first?.string }
        #expect(ids.count == 2)
        // Pretend a run committed the first entry and died before acknowledging it.
        try client.execute(RedisCommand("HSET", "ocf:{ocf/0}:meta", "source:redis-stream:ev?group=g", ids[0]))
        try client.execute(RedisCommand("XREADGROUP", "GROUP", "g", "dead", "COUNT", "1", "STREAMS", "ev", ">"))
        let result = try onlinecf(["run", "--redis", redis.url, "--source", "redis-stream:ev?group=g&min-idle=0", "--algos", "itemcf", "--no-progress"])
        #expect(result.stderr.contains("lines read: 3 "), "\(result.stderr)")
        #expect(result.stderr.contains("1 new entries, 1 own pending entries re-read, 1 reclaimed from other consumers, 1 committed by an earlier run acknowledged at start; 3 acknowledged"), "\(result.stderr)")
        #expect(try client.execute(RedisCommand("XPENDING", "ev", "g")).array?.first?.int == 0)
    }

    /// Appends one entry `event=line` per line to `key`, pipelined.
    static func xadd(_ client: RedisClient, _ key: String, _ lines: [String]) throws {
        var start = 0
        while start < lines.count {
            let commands = lines[start..<min(lines.count, start + 1000)].map { RedisCommand("XADD", key, "*", "event", $0) }
            for reply in try client.pipeline(commands) { #expect(!reply.isError, "\(reply)") }
            start += 1000
        }
    }

    /// A Redis Stream read through a consumer group, SIGKILLed ten times at random points
    /// and restarted: the lists equal an uninterrupted run's over a second stream, and no
    /// entry is left pending.
    @Test(.enabled(if: SharedData.ml100k != nil, "needs ../shared/data/ml-100k.inter"))
    func streamSourceKilledTenTimesEqualsAnUninterruptedRun() throws {
        let (_, lines) = try #require(try Self.movieLensLines(12_000))
        let redis = try TestRedis()
        let client = RedisClient(endpoint: redis.server.endpoint)
        try Self.xadd(client, "ml-a", lines)
        try Self.xadd(client, "ml-b", lines)
        let options = ["--redis", redis.url, "--format", "tsv", "--columns", "user,item,ignore,ts", "--algos", "all",
                       "--swing-min-user-behavior", "3", "-k", "20", "--emit-interval", "100ms", "--no-progress",
                       "--checkpoint-every", "1500"]
        let crashy = ["run", "--namespace", "crashy", "--source", "redis-stream:ml-a?group=cf"] + options
        let killed = try Self.killRepeatedly(crashy, times: 10, seed: 12)
        #expect(killed == 10, "killed \(killed) times")
        try onlinecf(crashy)
        try onlinecf(["run", "--namespace", "calm", "--source", "redis-stream:ml-b?group=cf"] + options)
        try Self.expectSameExports(redis, "crashy", "calm", note: "after \(killed) kills")
        for key in ["ml-a", "ml-b"] {
            let pending = try client.execute(RedisCommand("XPENDING", key, "cf"))
            #expect(pending.array?.first?.int == 0, "\(key): \(pending)")
        }
        let again = try onlinecf(crashy)
        #expect(again.stderr.contains("lines read: 0 ") && again.stderr.contains(": 0 new entries"), "\(again.stderr)")
    }

    /// A malformed entry is reported with its id, counted, dead-lettered and acknowledged.
    @Test func streamMalformedEntriesAreReportedByIdAndAcknowledged() throws {
        let redis = try TestRedis()
        let client = RedisClient(endpoint: redis.server.endpoint)
        try Self.xadd(client, "ev", ["{\"user\":\"u1\",\"item\":\"i1\"}", "{\"user\":\"u1\",\"item\":\"i2\"}", "not json"])
        let bad = try #require(try client.execute(RedisCommand("XADD", "ev", "*", "other", "x")).string)
        let dead = FileManager.default.temporaryDirectory.appendingPathComponent("dead-\(UUID()).txt").path
        defer { try? FileManager.default.removeItem(atPath: dead) }
        let result = try onlinecf(["run", "--redis", redis.url, "--source", "redis-stream:ev?group=g&consumer=w1", "--algos", "itemcf",
                                   "--dead-letter", dead, "--no-progress"])
        #expect(result.stderr.contains("malformed: 2 "), "\(result.stderr)")
        #expect(result.stderr.contains("entry \(bad): stream entry has no 'event' field"), "\(result.stderr)")
        #expect(result.stderr.contains(#/entry \d+-\d+: expected a JSON object/#), "\(result.stderr)")
        #expect(String(decoding: FileManager.default.contents(atPath: dead) ?? Data(), as: UTF8.self) == "not json\nother\tx\n")
        #expect(try client.execute(RedisCommand("XPENDING", "ev", "g")).array?.first?.int == 0)
        let lists = try onlinecf(["export", "--algo", "itemcf:cooccurrence", "--redis", redis.url]).stdout
        #expect(lists == "i1\ti2\t1.0\ni2\ti1\t1.0\n", "\(lists)")
    }

    @Test func badSourcesAreRejectedWithTheFieldPath() throws {
        func issues(_ yaml: String) throws -> [JobSpecError.Issue] {
            let spec = try JobFile.parse("version: 1\n" + yaml)
            let error = #expect(throws: JobSpecError.self) { try spec.resolve() }
            return error?.issues ?? []
        }
        let scheme = try issues("source: kinesis:events\n")
        #expect(scheme.count == 1 && scheme[0].path == "source" && scheme[0].line == 2 && scheme[0].message.contains("is not a source"), "\(scheme)")
        let group = try issues("source: redis-stream:events\n")
        #expect(group.first?.path == "source" && group.first?.message.contains("names no consumer group") == true, "\(group)")
        let empty = try issues("source: \"file:\"\n")
        #expect(empty.first?.path == "source" && empty.first?.message.contains("needs a path") == true, "\(empty)")
        let parameter = try issues("source: redis-stream:events?group=g&block=5\n")
        #expect(parameter.first?.message.contains("unknown parameter 'block'") == true, "\(parameter)")
        let follow = try issues("follow: true\n")
        #expect(follow.first?.path == "follow", "\(follow)")
        let inter = try issues("source: redis-stream:events?group=g\nformat: inter\n")
        #expect(inter.first?.path == "columns" && inter.first?.message.contains("no header") == true, "\(inter)")

        let good = try JobFile.parse("version: 1\nsource: redis-stream:events?group=cf&consumer=w1&min-idle=5s\nfollow: true\n").resolve()
        #expect(good.configuration.source == .redisStream(key: "events", group: "cf", consumer: "w1", minIdle: .seconds(5)))
        #expect(good.configuration.follow)
        #expect(try JobFile.parse("version: 1\nsource: file:/data/events\n").resolve().configuration.source == .file(path: "/data/events"))
        #expect(try JobFile.parse("version: 1\nsource: stdin\n").resolve().configuration.source == .stdin)
        // The command line's --source overrides the file's.
        var cli = JobSpec()
        cli.source = "file:x"
        #expect(try JobFile.parse("version: 1\nsource: \"-\"\n").overriding(with: cli).resolve().configuration.source == .file(path: "x"))
    }
}
