import Foundation
import Synchronization
import Testing
@testable import OnlineCFKV

/// A short, unique temporary directory (unix socket paths must stay < 104 bytes).
func makeTemporaryDirectory(_ label: String = "kv") -> String {
    let path = "/tmp/ocfkv-\(label)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Starts a private server in a fresh temporary directory, runs `body`, then stops the
/// server and removes the directory (also when `body` throws).
func withTestServer<T>(
    executable: String? = nil,
    port: Int = 0,
    persistence: Bool = false,
    extraArguments: [String] = [],
    _ body: (RedisServerProcess) throws -> T
) throws -> T {
    let directory = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let server = try RedisServerProcess.start(
        directory: directory, port: port, persistence: persistence,
        executable: executable, extraArguments: extraArguments)
    defer { server.stop(save: false) }
    return try body(server)
}

/// Server binaries to run the compatibility tests against: the default `redis-server`
/// plus every path in `ONLINECF_TEST_SERVERS` (colon-separated; see scripts/test-servers.sh).
let testServerExecutables: [String] = {
    var list: [String] = []
    if let defaultServer = try? RedisServerProcess.findExecutable(explicit: nil, environment: ProcessInfo.processInfo.environment) {
        list.append(defaultServer)
    }
    let extra = ProcessInfo.processInfo.environment["ONLINECF_TEST_SERVERS"] ?? ""
    for path in extra.split(separator: ":").map(String.init) where !path.isEmpty && !list.contains(path) {
        list.append(path)
    }
    return list
}()

/// Collects log lines from a `RedisClient` (thread-safe).
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var sink: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Swift.Array(string.utf8) }
}
