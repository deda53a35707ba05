import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct OutageTests {
    /// redis-server restarts (with persistence) in the middle of a run: the job waits,
    /// carries on, and its lists equal an uninterrupted run's.
    @Test func redisRestartMidRunLosesNothing() throws {
        let input = try generatedEvents(6_000, users: 300, items: 200, seed: 31)
        let lines = input.split(separator: 0x0A).map { Array($0) + [0x0A] }
        let directory = "/tmp/ocf-outage-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var server = try RedisServerProcess.start(directory: directory, persistence: true)
        let url = "unix://\(directory)/redis.sock"

        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--redis", url, "--algos", "cooccurrence", "--emit-interval", "200ms", "--no-progress", "--namespace", "live"]
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        try process.run()
        // First half, then the outage while the job is running, then the second half.
        // The input after the first part is written from another thread: while Redis is
        // down the job stops reading (back-pressure), so a write here could block until
        // the restart below, which would then never come.
        stdin.fileHandleForWriting.write(Data(lines.prefix(3000).joined()))
        Thread.sleep(forTimeInterval: 1.0)
        server.stop(save: true)
        let writer = stdin.fileHandleForWriting
        let written = DispatchSemaphore(value: 0)
        let rest = Data(lines.dropFirst(3000).joined())
        Thread.detachNewThread {
            writer.write(rest)
            try? writer.close()
            written.signal()
        }
        Thread.sleep(forTimeInterval: 1.5)
        server = try RedisServerProcess.start(directory: directory, persistence: true)
        #expect(written.wait(timeout: .now() + 120) == .success, "the job read the rest of its input after the restart")
        process.waitUntilExit()
        let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(log)")
        #expect(log.contains("unreachable"), "the outage was noticed: \(log)")
        #expect(log.contains("events: 6000 "))

        try onlinecf(["run", "--redis", url, "--algos", "cooccurrence", "--namespace", "reference"], stdin: input)
        for algorithm in Algorithm.cooccurrenceAlgorithms {
            let live = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "live", "--redis", url]).stdout
            let reference = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "reference", "--redis", url]).stdout
            #expect(!live.isEmpty && live == reference, "\(algorithm.rawValue) differs after the outage")
        }
        server.stop(save: false)
    }
}
