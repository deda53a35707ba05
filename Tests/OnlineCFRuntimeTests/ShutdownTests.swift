import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct ShutdownTests {
    /// SIGTERM while input is still open: stop reading, emit, commit, exit 0.
    @Test func sigtermCommitsWhatWasReadAndExitsZero() throws {
        let redis = try TestRedis()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--redis", redis.url, "--emit-interval", "1h", "--no-progress"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data("{\"user\":\"u1\",\"item\":\"a\"}\n{\"user\":\"u1\",\"item\":\"b\"}\n{\"user\":\"u2\",\"item\":\"a\"}\n".utf8))
        Thread.sleep(forTimeInterval: 1.0)   // read, not yet emitted (the interval is an hour)
        process.terminate()                  // SIGTERM; stdin stays open
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "stderr: \(stderr)")
        #expect(stderr.contains("shutting down"))
        #expect(stderr.contains("events: 3 "))
        let lists = try onlinecf(["i2i", "a", "--algo", "itemcf:cooccurrence", "--redis", redis.url])
        #expect(lists.stdout == "b\t1.0\n")
        let meta = try onlinecf(["run", "--redis", redis.url], stdin: [])
        #expect(meta.stderr.contains("3 logged events replayed"))
        try? input.fileHandleForWriting.close()
    }
}
