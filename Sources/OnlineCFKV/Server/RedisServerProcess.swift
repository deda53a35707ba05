import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private redis-server (or compatible, e.g. valkey-server) child process.
///
/// Guarantees:
/// - `start` returns only once the server answers PING on its unix socket (so any RDB
///   snapshot has been loaded); otherwise it throws `.serverStartFailed` with the tail
///   of the server's log, or `.serverNotFound`.
/// - The server listens on a unix socket (mode 700) and, only if `port` is non-zero,
///   on 127.0.0.1:`port`. With `persistence` it keeps an RDB snapshot
///   (`<directory>/dump.rdb`) and saves it on `stop()`; without, nothing is written.
/// - `stop()` is idempotent; `deinit` calls it if the server is still running, which
///   blocks until the server has exited (saving its snapshot when persistence is on).
///
/// `Sendable`: all mutable state (the `Process`) lives inside a `Mutex`.
public final class RedisServerProcess: Sendable {
    /// Unix-socket endpoint of the server (with the password if `--requirepass` was
    /// passed in `extraArguments`).
    public let endpoint: RedisEndpoint
    /// TCP port on 127.0.0.1, or nil when the server listens only on the unix socket.
    public let tcpPort: Int?
    /// Working directory holding socket, log, pid file and snapshot.
    public let directory: String
    /// Path of the server's log file.
    public let logFile: String
    /// The executable that was started.
    public let executable: String
    /// Whether the RDB snapshot is enabled.
    public let persistence: Bool
    /// Process id of the server.
    public let processIdentifier: Int32

    private struct State {
        var process: Process?
    }
    private let state: Mutex<State>

    private init(endpoint: RedisEndpoint, tcpPort: Int?, directory: String, logFile: String, executable: String, persistence: Bool, process: Process) {
        self.endpoint = endpoint
        self.tcpPort = tcpPort
        self.directory = directory
        self.logFile = logFile
        self.executable = executable
        self.persistence = persistence
        self.processIdentifier = process.processIdentifier
        self.state = Mutex(State(process: process))
    }

    deinit {
        stop(save: persistence)
    }

    /// True while the child process is running.
    public var isRunning: Bool {
        state.withLock { $0.process?.isRunning ?? false }
    }

    /// Starts a server in `directory` (created if needed) and waits until it answers PING.
    ///
    /// - Parameters:
    ///   - unixSocket: socket path; default `<directory>/redis.sock`. Must be < 104 bytes.
    ///   - port: TCP port on 127.0.0.1; 0 disables TCP.
    ///   - persistence: keep an RDB snapshot (`save 300 1`, `save 60 10000`, and on shutdown).
    ///   - executable: server binary; default `$ONLINECF_REDIS_SERVER`, then `redis-server`
    ///     on `PATH`, `/usr/bin/redis-server`, `/usr/sbin/redis-server`, `valkey-server` on `PATH`.
    ///   - extraArguments: appended to the command line, e.g. `["--requirepass", "pw"]`.
    ///   - startTimeout: how long to wait for PING to succeed.
    public static func start(
        directory: String,
        unixSocket: String? = nil,
        port: Int = 0,
        persistence: Bool = true,
        executable: String? = nil,
        extraArguments: [String] = [],
        startTimeout: Duration = .seconds(10),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(KVError) -> RedisServerProcess {
        let binary = try findExecutable(explicit: executable, environment: environment)
        let fm = FileManager.default
        let directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw KVError(code: .serverStartFailed, message: "cannot create redis directory \(directory): \(error.localizedDescription)")
        }
        let socketPath = unixSocket ?? directory + "/redis.sock"
        if socketPath.utf8.count >= 104 {
            throw KVError(code: .serverStartFailed, message: "unix socket path too long (\(socketPath.utf8.count) bytes, max 103): \(socketPath); use a shorter directory")
        }
        var password: String? = nil
        if let i = extraArguments.firstIndex(of: "--requirepass"), i + 1 < extraArguments.count {
            password = extraArguments[i + 1]
        }
        let endpoint = RedisEndpoint.unixSocket(socketPath, password: password)
        if isRedisAlive(endpoint: endpoint, timeout: .milliseconds(300)) {
            throw KVError(code: .serverStartFailed, message: "a server is already running on \(socketPath); stop it or reuse it", server: endpoint.displayName)
        }

        let logFile = directory + "/redis.log"
        let consoleFile = directory + "/redis.console.log"
        var arguments = [
            "--port", String(port),
            "--unixsocket", socketPath,
            "--unixsocketperm", "700",
            "--dir", directory,
            "--dbfilename", "dump.rdb",
            "--daemonize", "no",
            "--logfile", logFile,
            "--pidfile", directory + "/redis.pid",
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
        ]
        // One `--save seconds changes` pair per option: Redis 6.2 rejects several pairs in one argument.
        arguments += persistence ? ["--save", "300", "1", "--save", "60", "10000"] : ["--save", ""]
        arguments += ["--appendonly", "no"]
        arguments += extraArguments

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        _ = fm.createFile(atPath: consoleFile, contents: nil)
        let console = FileHandle(forWritingAtPath: consoleFile)
        process.standardOutput = console ?? FileHandle.nullDevice
        process.standardError = console ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw KVError(code: .serverStartFailed, message: "cannot run \(binary): \(error.localizedDescription)")
        }
        try? console?.close()
        let server = RedisServerProcess(
            endpoint: endpoint, tcpPort: port == 0 ? nil : port, directory: directory,
            logFile: logFile, executable: binary, persistence: persistence, process: process)

        let clock = ContinuousClock()
        let deadline = clock.now + startTimeout
        var lastProblem = "no answer"
        while true {
            let exitStatus: Int32? = server.state.withLock { state in
                guard let p = state.process, !p.isRunning else { return nil }
                state.process = nil
                return p.terminationStatus
            }
            if let exitStatus {
                throw KVError(code: .serverStartFailed, message: "\(binary) exited with status \(exitStatus) during start-up\n" + tail(of: [logFile, consoleFile]), server: endpoint.displayName)
            }
            switch ping(endpoint) {
            case .ready: return server
            case .notReady(let reason): lastProblem = reason
            }
            if clock.now >= deadline {
                server.stop(save: false)
                throw KVError(code: .serverStartFailed, message: "\(binary) did not answer PING within \(startTimeout) (\(lastProblem))\n" + tail(of: [logFile, consoleFile]), server: endpoint.displayName)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Shuts the server down with `SHUTDOWN SAVE` (if `save` and persistence is on) or
    /// `SHUTDOWN NOSAVE`, waits up to 30 s for it to exit, then kills it. Idempotent.
    public func stop(save: Bool = true) {
        let process: Process? = state.withLock { state in
            let p = state.process
            state.process = nil
            return p
        }
        guard let process, process.isRunning else { return }
        let mode = save && persistence ? "SAVE" : "NOSAVE"
        var sent = false
        if let connection = try? RedisConnection(endpoint: endpoint, connectTimeout: .seconds(2), commandTimeout: .seconds(30)) {
            do {
                let reply = try connection.send(RedisCommand("SHUTDOWN", mode))
                // Any reply means the server refused (e.g. the save failed).
                FileHandle.standardError.write(Data("redis \(endpoint.displayName): SHUTDOWN \(mode) refused: \(reply.errorMessage ?? "\(reply)"); sending SIGTERM\n".utf8))
            } catch {
                sent = true  // the server closed the connection while shutting down
            }
            connection.close()
        }
        if !sent { process.terminate() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while process.isRunning && clock.now < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
    public static func findFreeTCPPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Int.random(in: 20000...60000) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard bound else { return Int.random(in: 20000...60000) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - Internals

    private enum PingResult { case ready, notReady(String) }

    private static func ping(_ endpoint: RedisEndpoint) -> PingResult {
        // No credentials: a NOAUTH reply already proves the server is up and loaded.
        var anonymous = endpoint
        anonymous.password = nil
        anonymous.user = nil
        do {
            let connection = try RedisConnection(endpoint: anonymous, connectTimeout: .milliseconds(500), commandTimeout: .seconds(1))
            defer { connection.close() }
            let reply = try connection.send(RedisCommand("PING"))
            switch reply {
            case .simpleString("PONG"): return .ready
            case .error(let message) where message.hasPrefix("NOAUTH"): return .ready
            default: return .notReady("PING answered \(reply)")
            }
        } catch {
            return .notReady(error.message)
        }
    }

    static func findExecutable(explicit: String?, environment: [String: String]) throws(KVError) -> String {
        let fm = FileManager.default
        if let explicit {
            guard fm.isExecutableFile(atPath: explicit) else {
                throw KVError(code: .serverNotFound, message: "redis-server not found: \(explicit) is not an executable file")
            }
            return explicit
        }
        if let fromEnvironment = environment["ONLINECF_REDIS_SERVER"], !fromEnvironment.isEmpty {
            guard fm.isExecutableFile(atPath: fromEnvironment) else {
                throw KVError(code: .serverNotFound, message: "redis-server not found: ONLINECF_REDIS_SERVER=\(fromEnvironment) is not an executable file")
            }
            return fromEnvironment
        }
        let pathDirectories = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        var candidates = pathDirectories.map { $0 + "/redis-server" }
        candidates += ["/usr/bin/redis-server", "/usr/sbin/redis-server"]
        candidates += pathDirectories.map { $0 + "/valkey-server" }
        if let found = candidates.first(where: { fm.isExecutableFile(atPath: $0) }) {
            return found
        }
        throw KVError(code: .serverNotFound, message: "redis-server not found: install it (apt-get install -y redis-server), set ONLINECF_REDIS_SERVER, or pass --redis URL")
    }

    private static func tail(of files: [String], lines: Int = 15) -> String {
        var out: [String] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file), !data.isEmpty else { continue }
            let text = String(decoding: data, as: UTF8.self)
            let last = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines)
            out.append("--- last lines of \(file):\n" + last.joined(separator: "\n"))
        }
        return out.isEmpty ? "(server wrote no log)" : out.joined(separator: "\n")
    }
}
