import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct CrashTests {
    /// SIGKILL at random points, then the same input piped again: events already applied
    /// count once (each user–item pair once), so after the last run every list — Swing's
    /// increments included — equals an uninterrupted run's.
    @Test func killNineAndRepipeEqualsAnUninterruptedRun() throws {
        let input = try generatedEvents(20_000, users: 800, items: 400, seed: 77)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID()).jsonl").path
        FileManager.default.createFile(atPath: path, contents: Data(input))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let redis = try TestRedis()
        let options = ["--redis", redis.url, "--algos", "all", "--swing-min-user-behavior", "3", "--emit-interval", "100ms", "--no-progress"]
        var generator = SplitMix64(seed: 5)
        var killed = 0
        for _ in 0..<10 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
            process.arguments = ["run", "--namespace", "crashy"] + options
            process.standardInput = FileHandle(forReadingAtPath: path)
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: 0.2 + Double(generator.next() % 1500) / 1000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL); killed += 1 }
            process.waitUntilExit()
        }
        #expect(killed >= 5, "most runs were killed mid-way")
        try onlinecf(["run", "--namespace", "crashy"] + options, stdinFile: path)
        try onlinecf(["run", "--namespace", "calm"] + options, stdinFile: path)
        for algorithm in Algorithm.allCases {
            let crashy = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "crashy", "--redis", redis.url]).stdout
            let calm = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "calm", "--redis", redis.url]).stdout
            #expect(!calm.isEmpty && crashy == calm, "\(algorithm.rawValue) differs after \(killed) kills")
        }
    }
}
