import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct CrashTests {
    /// SIGKILL at random points, then the same input piped again: events already applied
    /// count once (each user–item pair once), so after the last run every list — Swing's
    /// increments included — equals an uninterrupted run's. Snapshots are taken every 1,500
    /// new events, so kills land before, during and after them. Each killed run is fed a
    /// random prefix of the input through a pipe left open, so the kill always lands
    /// mid-run however fast the run is (writing blocks until the run has read all but a
    /// pipe buffer of it).
    @Test func killNineAndRepipeEqualsAnUninterruptedRun() throws {
        let input = try generatedEvents(20_000, users: 800, items: 400, seed: 77)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID()).jsonl").path
        try #require(FileManager.default.createFile(atPath: path, contents: Data(input)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let redis = try TestRedis()
        let options = ["--redis", redis.url, "--algos", "all", "--swing-min-user-behavior", "3", "--emit-interval", "100ms", "--no-progress",
                       "--checkpoint-every", "1500"]
        var generator = SplitMix64(seed: 5)
        signal(SIGPIPE, SIG_IGN)  // a run that ended early fails the expectation below, not the test process
        for _ in 0..<10 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
            process.arguments = ["run", "--namespace", "crashy"] + options
            let pipe = Pipe()
            process.standardInput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let cut = Int(generator.next() % UInt64(input.count))
            try pipe.fileHandleForWriting.write(contentsOf: input[0..<cut])
            #expect(process.isRunning, "a run whose input is still open has not ended")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? pipe.fileHandleForWriting.close()
        }
        try onlinecf(["run", "--namespace", "crashy"] + options, stdinFile: path)
        try onlinecf(["run", "--namespace", "calm"] + options, stdinFile: path)
        for algorithm in Algorithm.allCases {
            let crashy = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "crashy", "--redis", redis.url]).stdout
            let calm = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "calm", "--redis", redis.url]).stdout
            #expect(!calm.isEmpty && crashy == calm, "\(algorithm.rawValue) differs after 10 kills")
        }
    }
}

@Suite(.serialized) struct ResumeTests {
    /// `--resume` skips the lines an earlier run over the same input committed.
    @Test func resumeSkipsCommittedLinesOfTheSameInput() throws {
        var text = "user_id:token\titem_id:token\ttimestamp:float\n"
        for n in 0..<3000 { text += "u\(n % 97)\ti\((n * 7) % 113)\t\(1_000_000 + n)\n" }
        let whole = Array(text.utf8)
        let firstPart = Array(whole.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(1201).joined(separator: [0x0A])) + [0x0A]
        let redis = try TestRedis()
        let kv = ["--redis", redis.url, "--format", "inter", "--algos", "itemcf", "--no-progress"]
        try onlinecf(["run", "--namespace", "r"] + kv, stdin: firstPart)
        let resumed = try onlinecf(["run", "--resume", "--namespace", "r"] + kv, stdin: whole)
        #expect(resumed.stderr.contains("resumed: skipped the first 1201 lines"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("lines read: 1800 "))
        try onlinecf(["run", "--namespace", "w"] + kv, stdin: whole)
        for algorithm in ["itemcf:cosine", "itemcf:cooccurrence"] {
            let r = try onlinecf(["export", "--algo", algorithm, "--namespace", "r", "--redis", redis.url]).stdout
            let w = try onlinecf(["export", "--algo", algorithm, "--namespace", "w", "--redis", redis.url]).stdout
            #expect(!w.isEmpty && r == w)
        }
    }
}
