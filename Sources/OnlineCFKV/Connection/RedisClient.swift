import Foundation

/// A Redis connection that survives server restarts: on a connection problem
/// (refused, lost, timeout) it reconnects with exponential back-off and re-sends the
/// whole failed call.
///
/// Guarantees:
/// - `pipeline`, `send` and `execute` either return the replies of one complete,
///   uninterrupted transmission of the commands, or throw. Connection problems are
///   retried according to `retry` until `retry.maxElapsed` passes or `shouldGiveUp()`
///   returns true; then the last error is thrown. Server error replies and
///   authentication failures are never retried.
/// - Because a failed call is re-sent in full, some of its commands may execute
///   twice. Callers must only send idempotent command sequences (e.g. MULTI…EXEC
///   blocks whose effect is the same when applied twice).
/// - Logging happens once per state change ("unreachable", "reachable again",
///   "giving up"), never once per attempt.
///
/// Not `Sendable`: owned by one thread of control, like `RedisConnection`. Waiting
/// between attempts blocks the calling thread.
public final class RedisClient {
    /// The server this client talks to.
    public let endpoint: RedisEndpoint
    /// Back-off and give-up policy.
    public let retry: RetryPolicy
    /// Connect timeout for each (re)connect.
    public var connectTimeout: Duration
    /// Per-command timeout for each connection (nil = none).
    public var commandTimeout: Duration?

    private let log: @Sendable (String) -> Void
    private let shouldGiveUp: () -> Bool
    private var connection: RedisConnection?
    private var commandsSentByClosedConnections = 0
    /// Set while the server is unreachable: when the outage began and how many attempts failed.
    private var outage: (start: ContinuousClock.Instant, failedAttempts: Int)?

    /// Creates a client; the connection is opened lazily by the first call (or `connect()`).
    public init(
        endpoint: RedisEndpoint,
        retry: RetryPolicy = .default,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration? = .seconds(30),
        log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) },
        shouldGiveUp: @escaping () -> Bool = { false }
    ) {
        self.endpoint = endpoint
        self.retry = retry
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.log = log
        self.shouldGiveUp = shouldGiveUp
    }

    /// Commands sent so far, summed over all connections (re-sent commands count again).
    public var commandsSent: Int {
        commandsSentByClosedConnections + (connection?.commandsSent ?? 0)
    }

    /// True while the last attempt to reach the server failed.
    public var isUnreachable: Bool { outage != nil }

    /// Connects now (with retries) instead of on first use.
    public func connect() throws(KVError) {
        _ = try withRetry { (_: RedisConnection) throws(KVError) in () }
    }

    /// Sends the commands as one pipeline, retrying the whole pipeline on connection problems.
    public func pipeline(_ commands: [RedisCommand]) throws(KVError) -> [RESPValue] {
        try withRetry { (connection: RedisConnection) throws(KVError) in try connection.pipeline(commands) }
    }

    /// Sends one command (error replies returned as `.error`), retrying on connection problems.
    public func send(_ command: RedisCommand) throws(KVError) -> RESPValue {
        try withRetry { (connection: RedisConnection) throws(KVError) in try connection.send(command) }
    }

    /// Sends one command, throwing `.serverError` for an error reply; retries on connection problems.
    @discardableResult
    public func execute(_ command: RedisCommand) throws(KVError) -> RESPValue {
        try withRetry { (connection: RedisConnection) throws(KVError) in try connection.execute(command) }
    }

    /// Closes the current connection (the next call reconnects).
    public func close() {
        dropConnection()
    }

    // MARK: - Internals

    private func dropConnection() {
        if let connection {
            commandsSentByClosedConnections += connection.commandsSent
            connection.close()
        }
        connection = nil
    }

    private func withRetry<T>(_ body: (RedisConnection) throws(KVError) -> T) throws(KVError) -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            do {
                let live: RedisConnection
                if let connection, !connection.isBroken {
                    live = connection
                } else {
                    dropConnection()
                    live = try RedisConnection(endpoint: endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
                    connection = live
                }
                let result = try body(live)
                if let outage {
                    let seconds = Double((clock.now - outage.start) / .milliseconds(1)) / 1000
                    log("redis \(endpoint.displayName) reachable again after \(outage.failedAttempts) failed attempt(s) / \(String(format: "%.1f", seconds)) s")
                    self.outage = nil
                }
                return result
            } catch {
                guard error.isConnectionProblem else { throw error }
                dropConnection()
                if outage == nil {
                    outage = (start: clock.now, failedAttempts: 0)
                    log("redis \(endpoint.displayName) unreachable: \(error.message); retrying with back-off")
                }
                outage!.failedAttempts += 1
                let elapsed = clock.now - start
                if let maxElapsed = retry.maxElapsed, elapsed >= maxElapsed {
                    log("redis \(endpoint.displayName): giving up after \(attempt) attempt(s) in this call: \(error.message)")
                    throw error
                }
                if shouldGiveUp() {
                    log("redis \(endpoint.displayName): giving up (shutdown requested): \(error.message)")
                    throw error
                }
                var wait = retry.jitteredDelay(attempt: attempt)
                if let maxElapsed = retry.maxElapsed {
                    wait = min(wait, maxElapsed - elapsed)
                }
                if !sleep(wait) {
                    log("redis \(endpoint.displayName): giving up (shutdown requested): \(error.message)")
                    throw error
                }
            }
        }
    }

    /// Sleeps in slices of at most 50 ms so `shouldGiveUp` is honoured promptly.
    /// Returns false if `shouldGiveUp()` became true.
    private func sleep(_ duration: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + duration
        while clock.now < deadline {
            let remaining = deadline - clock.now
            let slice = min(remaining, .milliseconds(50))
            Thread.sleep(forTimeInterval: Double(slice / .microseconds(1)) / 1_000_000)
            if shouldGiveUp() { return false }
        }
        return true
    }
}

@available(*, unavailable, message: "RedisClient is owned by one thread of control")
extension RedisClient: Sendable {}
