import Foundation
import Synchronization
import Testing
import OnlineCFTestSupport

/// A running `onlinecf` command with its stdin open; stderr is collected as it comes, so
/// a test can wait for what the job reports instead of sleeping.
final class RunningJob: Sendable {
    let process: Process
    let input: FileHandle
    private let errors = Mutex<[UInt8]>([])
    private let drained = DispatchSemaphore(value: 0)
    /// Writes under way (finish closes stdin only after them).
    private let writes = DispatchGroup()

    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = arguments
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.input = stdin.fileHandleForWriting
        let reader = stderr.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                errors.withLock { $0 += Array(data) }
            }
            drained.signal()
        }
    }

    var pid: Int32 { process.processIdentifier }
    var stderr: String { errors.withLock { String(decoding: $0, as: UTF8.self) } }

    /// The URL of its metrics (with `--metrics HOST:0`), once it has printed it.
    func metricsURL() throws -> String {
        var url: String?
        try waitUntil("the job prints its metrics URL") {
            url = stderr.split(separator: "\n").first { $0.hasPrefix("metrics: ") }.map { String($0.dropFirst("metrics: ".count)) }
            return url != nil
        }
        return url!
    }

    /// Writes `bytes` from another thread (the job may be applying back-pressure).
    func write(_ bytes: [UInt8], thenClose close: Bool = false) {
        let input = self.input, writes = self.writes
        writes.enter()
        Thread.detachNewThread {
            try? input.write(contentsOf: Data(bytes))
            if close { try? input.close() }
            writes.leave()
        }
    }

    /// Sends `signal` and waits for the exit; returns the status.
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        kill(pid, signal)
        process.waitUntilExit()
        writes.wait()
        drained.wait()
        return process.terminationStatus
    }

    /// Closes stdin and waits for the exit; returns the status.
    func finish() -> Int32 {
        writes.wait()
        try? input.close()
        process.waitUntilExit()
        drained.wait()
        return process.terminationStatus
    }
}

/// Polls `condition` every 20 ms until it holds; fails the test after `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(120), _ condition: () throws -> Bool,
               sourceLocation: SourceLocation = #_sourceLocation) throws {
    let clock = ContinuousClock(), deadline = clock.now + timeout
    while clock.now < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.02)
    }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}

/// The body of `GET url` on 127.0.0.1 (see ``RawHTTP``).
func httpGet(_ url: String) throws -> String { try RawHTTP.get(url) }
