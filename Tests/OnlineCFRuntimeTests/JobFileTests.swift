import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite struct JobFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyKindOfErrorIsReportedWithItsPathAndLine() throws {
        let text = """
        version: 1
        k: zero
        swing:
          alpha1: -1
          bogus: 3
        emit_interval: soon
        algorithms: [swung]
        format: csv
        kv:
          redis: http://x
          namespace: "a b"
        extra: 1
        """
        let spec = try JobFile.parse(text)
        let error = #expect(throws: JobSpecError.self) { try spec.resolve() }
        let issues = Dictionary(uniqueKeysWithValues: (error?.issues ?? []).map { ($0.path, $0) })
        #expect(issues["k"]?.message.contains("expected a whole number") == true && issues["k"]?.line == 2)
        #expect(issues["swing.bogus"]?.message == "unknown field" && issues["swing.bogus"]?.line == 5)
        #expect(issues["extra"]?.message == "unknown field")
        #expect(issues["swing.alpha1"]?.message.contains("out of range") == true && issues["swing.alpha1"]?.line == 4)
        #expect(issues["emit_interval"]?.message.contains("not a duration") == true)
        #expect(issues["algorithms"]?.message.contains("unknown algorithm 'swung'") == true)
        #expect(issues["format"]?.message.contains("expected jsonl, tsv or inter") == true)
        #expect(issues["kv.redis"] != nil && issues["kv.namespace"] != nil)
    }

    @Test func missingVersionAndBadYAML() throws {
        #expect((try? JobFile.parse("k: 5").resolve()) == nil)
        #expect(throws: JobSpecError.self) { try JobFile.parse("k: [1, 2") }
        #expect(throws: JobSpecError.self) { try JobFile.parse("- a\n- b").resolve() }
    }

    @Test func commandLineOverridesTheFile() throws {
        let file = try JobFile.parse("version: 1\nk: 7\nemit_interval: 2s\nbounds:\n  item_history: 3\nkv:\n  namespace: feed\n")
        var cli = JobSpec()
        cli.k = 9
        let job = try file.overriding(with: cli).resolve()
        #expect(job.configuration.parameters.k == 9)
        #expect(job.configuration.parameters.itemHistory == 3)
        #expect(job.configuration.emitInterval == .seconds(2))
        #expect(job.keys.namespace == "feed")
    }

    /// `ttl:` in a job file (and `--ttl`, which overrides it) sets the TTL in event-time
    /// milliseconds; a duration under 1s is reported.
    @Test func ttlField() throws {
        let file = try JobFile.parse("version: 1\nttl: 6h\n")
        #expect(try file.resolve().configuration.parameters.ttlMillis == 6 * 3_600_000)
        var cli = JobSpec()
        cli.ttl = "7d"
        #expect(try file.overriding(with: cli).resolve().configuration.parameters.ttlMillis == 7 * 86_400_000)
        let error = #expect(throws: JobSpecError.self) { try JobFile.parse("version: 1\nttl: 0s\n").resolve() }
        #expect(error?.issues.first?.path == "ttl")
    }

    @Test func threadsField() throws {
        let file = try JobFile.parse("version: 1\nthreads: 3\n")
        #expect(try file.resolve().configuration.threads == 3)
        var cli = JobSpec()
        cli.threads = 5
        #expect(try file.overriding(with: cli).resolve().configuration.threads == 5)
        #expect(try JobFile.parse("version: 1\n").resolve().configuration.threads == JobConfiguration.defaultThreads)
        let error = #expect(throws: JobSpecError.self) { try JobFile.parse("version: 1\nthreads: 0\n").resolve() }
        #expect(error?.issues.first?.path == "threads")
    }

    @Test func popularFields() throws {
        let file = try JobFile.parse("version: 1\npopular:\n  half_life: 6h\n  n: 30\n")
        let popular = try file.resolve().configuration.parameters.popular
        #expect(popular?.halfLifeMillis == 6 * 3_600_000 && popular?.count == 30)
        #expect(try JobFile.parse("version: 1\n").resolve().configuration.parameters.popular == PopularParameters())
        var cli = JobSpec()
        cli.popularCount = 0
        #expect(try file.overriding(with: cli).resolve().configuration.parameters.popular == nil)
        let error = #expect(throws: JobSpecError.self) { try JobFile.parse("version: 1\npopular:\n  n: -1\n  half_life: 1ms\n").resolve() }
        #expect(error?.issues.map(\.path) == ["popular.n", "popular.half_life"])
    }

    @Test func leaseField() throws {
        let file = try JobFile.parse("version: 1\nkv:\n  lease: 5s\n")
        #expect(try file.resolve().configuration.leasePeriod == .seconds(5))
        #expect(try JobFile.parse("version: 1\n").resolve().configuration.leasePeriod == .seconds(15))
        var cli = JobSpec()
        cli.lease = "2m"
        #expect(try file.overriding(with: cli).resolve().configuration.leasePeriod == .seconds(120))
        let error = #expect(throws: JobSpecError.self) { try JobFile.parse("version: 1\nkv:\n  lease: 10ms\n").resolve() }
        #expect(error?.issues.first?.path == "kv.lease" && error?.issues.first?.line == 3)
    }

    @Test func shippedJobsPassCheck() throws {
        for name in ["home-feed.yaml", "backfill.yaml", "scale-out.yaml"] {
            let path = Self.root.appendingPathComponent("jobs/\(name)").path
            let result = try OnlineCFBinary.run(["check", path])
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout.contains("ok"))
        }
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).yaml").path
        try "version: 1\nk: 0\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try OnlineCFBinary.run(["check", bad])
        #expect(result.status == 1 && result.stderr.contains("line 2: k: 0 is out of range"))
        // A Redis that does not answer is an error too.
        try "version: 1\nkv:\n  redis: redis://127.0.0.1:1\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let unreachable = try OnlineCFBinary.run(["check", bad])
        #expect(unreachable.status == 1 && unreachable.stderr.contains("kv.redis"))
    }

    @Test func aJobFileRunsAndFlagsOverrideIt() throws {
        let redis = try TestRedis()
        let job = FileManager.default.temporaryDirectory.appendingPathComponent("job-\(UUID()).yaml").path
        try "version: 1\nformat: tsv\nalgorithms: itemcf:cooccurrence\nk: 1\nkv:\n  namespace: jobns\n  redis: \(redis.url)\n".write(toFile: job, atomically: true, encoding: .utf8)
        try onlinecf(["run", job, "-k", "2"], stdin: Array("u1\ta\nu1\tb\nu1\tc\nu2\ta\nu2\tb\n".utf8))
        let list = try onlinecf(["i2i", "a", "--algo", "itemcf:cooccurrence", "--namespace", "jobns", "--redis", redis.url])
        #expect(list.stdout == "b\t2.0\nc\t1.0\n")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
    func systemdUnitsVerify() throws {
        for name in ["onlinecf", "onlinecf-worker"] {
            let unit = try String(contentsOf: Self.root.appendingPathComponent("jobs/\(name)@.service"), encoding: .utf8)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            // Point the unit at the binary under test so verify can check the executables.
            let path = dir.appendingPathComponent("\(name)@test.service").path
            try unit.replacingOccurrences(of: "/usr/local/bin/onlinecf", with: OnlineCFBinary.path).write(toFile: path, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
            process.arguments = ["verify", "--man=no", path]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = errors
            try process.run()
            process.waitUntilExit()
            let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Lines about the unit itself; systemd may also complain about the host's own units.
            let ours = output.split(separator: "\n").filter { $0.contains("\(name)@test") }
            #expect(ours.isEmpty, "systemd-analyze verify \(name)@.service: \(output)")
        }
    }
}
