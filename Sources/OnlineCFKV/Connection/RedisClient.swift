import Foundation

/// A Redis connection that survives server restarts: on a connection problem
/// (refused, lost, timeout) it reconnects with exponential back-off and re-sends the
/// whole failed call. Works the same against a single server and a Redis Cluster.
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
/// - Cluster mode: each new connection to the configured endpoint is checked once with
///   `INFO cluster` (and a `MOVED` reply at any time also counts); if the server is a
///   cluster node the client loads the slot map (`CLUSTER SLOTS`), keeps one
///   connection per master and routes every command by its keys' hash slot (see
///   `ClusterPipelinePlan`): callers get exactly the replies a single server would give,
///   in their order. A `MULTI … EXEC` block must stay in one slot (else `.serverError`
///   `CROSSSLOT …`, nothing sent); cross-slot DEL/UNLINK/EXISTS/TOUCH/MGET are split per
///   slot and their replies combined; keyless commands go to the first master.
///   `MOVED` refreshes the slot map and re-sends only the redirected units (at most
///   `maxRedirects` times each); `ASK` sends `ASKING` plus the unit to the named node
///   once; `TRYAGAIN` waits briefly and re-sends. On a connection problem the units not
///   yet answered are re-sent after back-off and a slot-map refresh (a failover may have
///   moved masters). Once in cluster mode the client stays in it.
/// - `commandsSent` counts the callers' commands (split commands count once per part);
///   the client's own `INFO`, `CLUSTER SLOTS` and `ASKING` are not counted.
///
/// Not `Sendable`: owned by one thread of control, like `RedisConnection`. Waiting
/// between attempts blocks the calling thread.
public final class RedisClient {
    /// The server this client talks to (in cluster mode: the seed node).
    public let endpoint: RedisEndpoint
    /// Back-off and give-up policy.
    public let retry: RetryPolicy
    /// Connect timeout for each (re)connect.
    public var connectTimeout: Duration
    /// Per-command timeout for each connection (nil = none).
    public var commandTimeout: Duration?
    /// Cluster mode: how often one unit may be redirected (`MOVED`/`ASK`/`TRYAGAIN`)
    /// within a call before the call fails.
    public static let maxRedirects = 5

    private let log: @Sendable (String) -> Void
    private let shouldGiveUp: () -> Bool
    /// Single-server mode: the connection.
    private var connection: RedisConnection?
    /// Cluster mode (non-nil exactly in cluster mode): which master serves which slot.
    private var slotMap: ClusterSlotMap?
    /// Cluster mode: one connection per node.
    private var nodeConnections: [RedisEndpoint: RedisConnection] = [:]
    private var commandsSentByClosedConnections = 0
    /// Commands the client sent for itself (detection, slot maps, ASKING).
    private var internalCommands = 0
    /// Cluster redirections followed so far (for tests and diagnostics).
    private(set) var redirectionsFollowed: (moved: Int, ask: Int, tryAgain: Int) = (0, 0, 0)
    /// Set while the server is unreachable: when the outage began, how many attempts
    /// failed, and the server named in the "unreachable" line.
    private var outage: (start: ContinuousClock.Instant, failedAttempts: Int, server: String)?

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

    /// Commands sent so far, summed over all connections and nodes (re-sent commands
    /// count again; the client's own routing commands do not count).
    public var commandsSent: Int {
        var total = commandsSentByClosedConnections + (connection?.commandsSent ?? 0)
        for node in nodeConnections.values { total += node.commandsSent }
        return total - internalCommands
    }

    /// True while the last attempt to reach the server failed.
    public var isUnreachable: Bool { outage != nil }

    /// True once the server turned out to be a Redis Cluster node (known after the first
    /// connection, e.g. after `connect()`).
    public var isCluster: Bool { slotMap != nil }

    /// Connects now (with retries) instead of on first use; in cluster mode, to every master.
    public func connect() throws(KVError) {
        if slotMap == nil, try single({ (_: RedisConnection) throws(KVError) in () }) != nil { return }
        try retrying { () throws(KVError) in
            for master in slotMap?.masters ?? [] { _ = try nodeConnection(master) }
        }
    }

    /// The masters holding the data: every master of the cluster, or just `endpoint`
    /// for a single server. Connects (with retries) if not connected yet.
    public func masterEndpoints() throws(KVError) -> [RedisEndpoint] {
        if slotMap == nil { try connect() }
        guard let slotMap else { return [endpoint] }
        return slotMap.masters.isEmpty ? [endpoint] : slotMap.masters
    }

    /// Sends the commands as one pipeline, retrying the whole pipeline on connection
    /// problems, and resending it while the server answers any of it with `-OOM`
    /// (see ``outOfMemoryWaits``).
    public func pipeline(_ commands: [RedisCommand]) throws(KVError) -> [RESPValue] {
        try whileOutOfMemory(commands.first) { () throws(KVError) in try pipelineOnce(commands) }
    }

    private func pipelineOnce(_ commands: [RedisCommand]) throws(KVError) -> [RESPValue] {
        if slotMap == nil {
            if let replies = try single({ (connection: RedisConnection) throws(KVError) in try connection.pipeline(commands) }) {
                guard ClusterRedirect.containsMoved(replies) else { return replies }
                try enterClusterModeAfterMoved()
            }
        }
        return try clusterPipeline(commands)
    }

    /// Sends one command (error replies returned as `.error`), retrying on connection
    /// problems and resending while the server answers `-OOM`.
    public func send(_ command: RedisCommand) throws(KVError) -> RESPValue {
        try whileOutOfMemory(command) { () throws(KVError) in [try sendOnce(command)] }[0]
    }

    private func sendOnce(_ command: RedisCommand) throws(KVError) -> RESPValue {
        if slotMap == nil {
            if let reply = try single({ (connection: RedisConnection) throws(KVError) in try connection.send(command) }) {
                guard case .error(let message) = reply, message.hasPrefix("MOVED ") else { return reply }
                try enterClusterModeAfterMoved()
            }
        }
        return try clusterPipeline([command])[0]
    }

    /// Sends one command, throwing `.serverError` for an error reply; retries on connection problems.
    @discardableResult
    public func execute(_ command: RedisCommand) throws(KVError) -> RESPValue {
        let reply = try send(command)
        if case .error(let message) = reply {
            throw KVError(code: .serverError, message: message, server: serverName(for: command), command: command.description)
        }
        return reply
    }

    /// Runs `SCAN cursor MATCH pattern COUNT count` to completion on every master (just
    /// the one server when not a cluster), handing each non-empty batch of keys to `body`.
    ///
    /// Guarantees: every key that matches and exists during the whole scan is handed
    /// over at least once (SCAN may repeat keys). Connection problems are retried like
    /// any call (the interrupted `SCAN` step is re-sent with the same cursor); errors
    /// thrown by `body` stop the scan and are rethrown.
    public func scanKeys(matching pattern: String, count: Int = 1000, _ body: ([[UInt8]]) throws -> Void) throws {
        let masters = try masterEndpoints()
        let nodes: [RedisEndpoint?] = isCluster ? masters : [nil]
        for node in nodes {
            var cursor = "0"
            repeat {
                let command = RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", count)
                let reply: RESPValue
                if let node {
                    reply = try retrying { () throws(KVError) in try nodeConnection(node).send(command) }
                } else {
                    reply = try send(command)
                }
                if case .error(let message) = reply {
                    throw KVError(code: .serverError, message: message, server: node?.displayName ?? endpoint.displayName, command: command.description)
                }
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let elements = parts[1].array else {
                    throw KVError(code: .protocolError, message: "unexpected SCAN reply: \(reply)", server: node?.displayName ?? endpoint.displayName, command: command.description)
                }
                cursor = next
                let keys = elements.compactMap(\.bytes)
                if !keys.isEmpty { try body(keys) }
            } while cursor != "0"
        }
    }

    /// Closes every connection (the next call reconnects).
    public func close() {
        dropConnection()
        for node in Array(nodeConnections.keys) { dropNodeConnection(node) }
    }

    // MARK: - Single server

    /// Runs `body` on the single-server connection with retries. Returns nil (without
    /// running `body`) when a fresh connection revealed a cluster node.
    private func single<T>(_ body: (RedisConnection) throws(KVError) -> T) throws(KVError) -> T? {
        try retrying { () throws(KVError) -> T? in
            if let connection, !connection.isBroken {
                return try body(connection)
            }
            dropConnection()
            let live = try RedisConnection(endpoint: endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
            connection = live
            if try enterClusterModeIfClusterNode(live) { return nil }
            return try body(live)
        }
    }

    /// Asks a freshly connected server whether it is a cluster node; if so loads the
    /// slot map, switches to cluster mode and returns true.
    private func enterClusterModeIfClusterNode(_ live: RedisConnection) throws(KVError) -> Bool {
        let info = try live.send(RedisCommand("INFO", "cluster"))
        internalCommands += 1
        guard let text = info.string, text.contains("cluster_enabled:1") else { return false }
        try loadSlotMap(from: live)
        return true
    }

    /// A `MOVED` reply reached the single-server path: load the slot map and switch.
    private func enterClusterModeAfterMoved() throws(KVError) {
        try retrying { () throws(KVError) in
            if slotMap != nil { return }
            if let connection, !connection.isBroken {
                try loadSlotMap(from: connection)
            } else {
                dropConnection()
                let live = try RedisConnection(endpoint: endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
                connection = live
                try loadSlotMap(from: live)
            }
        }
    }

    private func loadSlotMap(from live: RedisConnection) throws(KVError) {
        let reply = try live.send(RedisCommand("CLUSTER", "SLOTS"))
        internalCommands += 1
        slotMap = try ClusterSlotMap(clusterSlotsReply: reply, seed: endpoint)
        dropConnection()
    }

    private func dropConnection() {
        if let connection {
            commandsSentByClosedConnections += connection.commandsSent
            connection.close()
        }
        connection = nil
    }

    // MARK: - Cluster

    /// What a cluster call still has to do; survives retries of `clusterRounds`.
    private struct ClusterProgress {
        var replies: [[RESPValue]?]
        var pending: [Int]
        var redirects: [Int]
        var askTargets: [Int: RedisEndpoint] = [:]
        /// Slots a `MOVED` named, with the new and the redirecting node.
        var movedHints: [(slot: HashSlot, to: RedisEndpoint, from: RedisEndpoint)] = []
        var needsRefresh = false

        init(unitCount: Int) {
            replies = Array(repeating: nil, count: unitCount)
            pending = Array(0..<unitCount)
            redirects = Array(repeating: 0, count: unitCount)
        }
    }

    private func clusterPipeline(_ commands: [RedisCommand]) throws(KVError) -> [RESPValue] {
        let plan = try ClusterPipelinePlan(commands)
        var progress = ClusterProgress(unitCount: plan.units.count)
        try retrying { () throws(KVError) in try clusterRounds(plan, &progress) }
        return plan.assemble(progress.replies.map { $0 ?? [] })
    }

    /// Sends pending units node by node until all are answered. On a connection problem
    /// the failed node's units (and those not sent yet) stay pending and it throws.
    private func clusterRounds(_ plan: ClusterPipelinePlan, _ progress: inout ClusterProgress) throws(KVError) {
        while true {
            if progress.needsRefresh {
                try refreshSlotMap(hints: progress.movedHints)
                progress.needsRefresh = false
                progress.movedHints = []
            }
            if progress.pending.isEmpty { return }
            let pending = progress.pending
            var batches: [(node: RedisEndpoint, units: [Int], asking: Bool)] = []
            let routed = pending.filter { progress.askTargets[$0] == nil }
            for batch in plan.batches(routed, node: { slot in self.node(for: slot) }) {
                batches.append((batch.node, batch.units, false))
            }
            var asked: [RedisEndpoint: [Int]] = [:]
            for unit in pending { if let target = progress.askTargets[unit] { asked[target, default: []].append(unit) } }
            for (target, units) in asked.sorted(by: { $0.value[0] < $1.value[0] }) {
                batches.append((target, units, true))
            }
            var stillPending: [Int] = []
            var tryAgainWait: Duration = .zero
            for (batchIndex, batch) in batches.enumerated() {
                let replies: [RESPValue]
                do {
                    var commands: [RedisCommand] = []
                    for unit in batch.units {
                        if batch.asking { commands.append(RedisCommand("ASKING")) }
                        commands.append(contentsOf: plan.units[unit].commands)
                    }
                    replies = try nodeConnection(batch.node).pipeline(commands)
                    if batch.asking { internalCommands += batch.units.count }
                } catch {
                    if error.isConnectionProblem {
                        dropNodeConnection(batch.node)
                        progress.needsRefresh = true
                        let unanswered = batches[batchIndex...].flatMap(\.units)
                        // After the slot-map refresh they go wherever the map says.
                        for unit in unanswered { progress.askTargets[unit] = nil }
                        progress.pending = (stillPending + unanswered).sorted()
                    }
                    throw error
                }
                var offset = 0
                for unit in batch.units {
                    if batch.asking { offset += 1 }
                    let count = plan.units[unit].commands.count
                    let slice = replies[offset..<(offset + count)]
                    offset += count
                    progress.askTargets[unit] = nil
                    guard let redirect = ClusterRedirect(replies: slice, transaction: plan.units[unit].isTransaction) else {
                        progress.replies[unit] = Array(slice)
                        continue
                    }
                    progress.redirects[unit] += 1
                    if progress.redirects[unit] > Self.maxRedirects {
                        let keyed = plan.units[unit].commands.first { !CommandKeys($0).isKeyless } ?? plan.units[unit].commands[0]
                        throw KVError(code: .serverError,
                                      message: "cluster redirection limit reached: still redirected after \(Self.maxRedirects) attempts (last reply: \(slice.last?.errorMessage ?? "?"))",
                                      server: batch.node.displayName, command: keyed.description)
                    }
                    switch redirect {
                    case .moved(let slot, let host, let port):
                        redirectionsFollowed.moved += 1
                        progress.movedHints.append((slot, redirectEndpoint(host: host, port: port, from: batch.node), batch.node))
                        progress.needsRefresh = true
                    case .ask(_, let host, let port):
                        redirectionsFollowed.ask += 1
                        progress.askTargets[unit] = redirectEndpoint(host: host, port: port, from: batch.node)
                    case .tryAgain:
                        redirectionsFollowed.tryAgain += 1
                        tryAgainWait = max(tryAgainWait, .milliseconds(25) * (1 << progress.redirects[unit]))
                    }
                    stillPending.append(unit)
                }
            }
            progress.pending = stillPending.sorted()
            if tryAgainWait > .zero { Thread.sleep(forTimeInterval: Double(tryAgainWait / .microseconds(1)) / 1_000_000) }
        }
    }

    /// The master for `slot` (keyless: the first master; the seed if the map is empty).
    private func node(for slot: HashSlot?) -> RedisEndpoint {
        if let slot, let master = slotMap?.master(for: slot) { return master }
        return slotMap?.masters.first ?? endpoint
    }

    /// `host:port` from a redirection, logging in like `node`; an empty host is `node`'s host.
    private func redirectEndpoint(host: String, port: Int, from node: RedisEndpoint) -> RedisEndpoint {
        var target = node
        var resolvedHost = host
        if resolvedHost.isEmpty {
            if case .tcp(let nodeHost, _) = node.address { resolvedHost = nodeHost } else { resolvedHost = "127.0.0.1" }
        }
        target.address = .tcp(host: resolvedHost, port: port)
        return target
    }

    /// Reloads the slot map from the first node that answers `CLUSTER SLOTS` (known
    /// masters first, then the seed), then applies `MOVED` hints the new map has not
    /// caught up with yet. Closes connections to nodes that are no longer masters.
    private func refreshSlotMap(hints: [(slot: HashSlot, to: RedisEndpoint, from: RedisEndpoint)]) throws(KVError) {
        var candidates = slotMap?.masters ?? []
        candidates.sort { nodeConnections[$0] != nil && nodeConnections[$1] == nil }
        if !candidates.contains(endpoint) { candidates.append(endpoint) }
        var lastError: KVError? = nil
        for candidate in candidates {
            do {
                let reply = try nodeConnection(candidate).send(RedisCommand("CLUSTER", "SLOTS"))
                internalCommands += 1
                var map = try ClusterSlotMap(clusterSlotsReply: reply, seed: candidate)
                for hint in hints where map.master(for: hint.slot) == hint.from {
                    map.assign(hint.slot, to: hint.to)
                }
                slotMap = map
                for node in Array(nodeConnections.keys) where !map.masters.contains(node) {
                    dropNodeConnection(node)
                }
                return
            } catch {
                if error.isConnectionProblem { dropNodeConnection(candidate) }
                lastError = error
            }
        }
        throw lastError ?? KVError(code: .connectionFailed, message: "no cluster node to ask for the slot map", server: endpoint.displayName)
    }

    /// The open connection to `node`, connecting if there is none (or it broke).
    private func nodeConnection(_ node: RedisEndpoint) throws(KVError) -> RedisConnection {
        if let existing = nodeConnections[node], !existing.isBroken { return existing }
        dropNodeConnection(node)
        let live = try RedisConnection(endpoint: node, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
        nodeConnections[node] = live
        return live
    }

    private func dropNodeConnection(_ node: RedisEndpoint) {
        if let existing = nodeConnections.removeValue(forKey: node) {
            commandsSentByClosedConnections += existing.commandsSent
            existing.close()
        }
    }

    /// The server a command goes to, for error messages.
    private func serverName(for command: RedisCommand) -> String {
        guard slotMap != nil else { return endpoint.displayName }
        return node(for: CommandKeys(command).slots(of: command).first).displayName
    }

    // MARK: - Retries

    /// Runs `body` until it succeeds, retrying connection problems with back-off.
    /// `body` must leave broken connections marked (RedisConnection does) so the next
    /// attempt reconnects.
    private func retrying<T>(_ body: () throws(KVError) -> T) throws(KVError) -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            do {
                let result = try body()
                if let outage {
                    let seconds = Double((clock.now - outage.start) / .milliseconds(1)) / 1000
                    log("redis \(outage.server) reachable again after \(outage.failedAttempts) failed attempt(s) / \(String(format: "%.1f", seconds)) s")
                    self.outage = nil
                }
                return result
            } catch {
                guard error.isConnectionProblem else { throw error }
                dropConnection()
                let server = error.server ?? endpoint.displayName
                if outage == nil {
                    outage = (start: clock.now, failedAttempts: 0, server: server)
                    log("redis \(server) unreachable: \(error.message); retrying with back-off")
                }
                outage!.failedAttempts += 1
                let elapsed = clock.now - start
                if let maxElapsed = retry.maxElapsed, elapsed >= maxElapsed {
                    log("redis \(server): giving up after \(attempt) attempt(s) in this call: \(error.message)")
                    throw error
                }
                if shouldGiveUp() {
                    log("redis \(server): giving up (shutdown requested): \(error.message)")
                    throw error
                }
                var wait = retry.jitteredDelay(attempt: attempt)
                if let maxElapsed = retry.maxElapsed {
                    wait = min(wait, maxElapsed - elapsed)
                }
                if !sleep(wait) {
                    log("redis \(server): giving up (shutdown requested): \(error.message)")
                    throw error
                }
            }
        }
    }

    /// Times a write was refused with `-OOM` and resent after a wait (for metrics).
    public private(set) var outOfMemoryWaits = 0
    /// Set while the server refuses writes with `-OOM`: since when, and how often.
    private var outOfMemory: (start: ContinuousClock.Instant, refusals: Int)?

    /// Runs `body` (one send of a pipeline) until no reply is an `-OOM` refusal, waiting
    /// with the retry policy's back-off in between. A pipeline is resent whole: every
    /// caller's writes are idempotent (RESTORE REPLACE, HSET, SADD, DEL…), and a
    /// MULTI/EXEC block with a refused command was discarded by the server. Gives up
    /// (throwing ``KVError/Code/outOfMemory``) when the policy's `maxElapsed` has passed or
    /// `shouldGiveUp` says so.
    private func whileOutOfMemory(_ first: RedisCommand?, _ body: () throws(KVError) -> [RESPValue]) throws(KVError) -> [RESPValue] {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            let replies = try body()
            guard let refusal = Self.outOfMemoryRefusal(in: replies) else {
                if let outOfMemory {
                    let seconds = Double((clock.now - outOfMemory.start) / .milliseconds(1)) / 1000
                    log("redis \(endpoint.displayName) accepts writes again after \(outOfMemory.refusals) refusal(s) / \(String(format: "%.1f", seconds)) s")
                    self.outOfMemory = nil
                }
                return replies
            }
            attempt += 1
            outOfMemoryWaits += 1
            if outOfMemory == nil {
                outOfMemory = (clock.now, 0)
                log("redis \(endpoint.displayName) is out of memory (\(refusal)): writes wait and are resent with back-off; nothing is dropped. Raise maxmemory (CONFIG SET maxmemory …) or free memory")
            }
            outOfMemory!.refusals += 1
            let elapsed = clock.now - start
            let error = KVError(code: .outOfMemory, message: refusal, server: endpoint.displayName, command: first?.description)
            if let maxElapsed = retry.maxElapsed, elapsed >= maxElapsed { throw error }
            if shouldGiveUp() { throw error }
            var wait = retry.jitteredDelay(attempt: attempt)
            if let maxElapsed = retry.maxElapsed { wait = min(wait, maxElapsed - elapsed) }
            if !sleep(wait) { throw error }
        }
    }

    /// The first `-OOM` refusal among `replies` (an EXEC's array or a script's error included), if any.
    static func outOfMemoryRefusal(in replies: [RESPValue]) -> String? {
        for reply in replies {
            switch reply {
            // Redis 7 keeps the code of an error raised inside a script; 6.x wraps it in
            // "ERR Error running script … -OOM command not allowed …".
            case .error(let message) where message.hasPrefix("OOM ") || message.contains("OOM command not allowed"):
                return message
            case .array(let inner):
                if let found = outOfMemoryRefusal(in: inner) { return found }
            default:
                continue
            }
        }
        return nil
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
