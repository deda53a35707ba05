import Foundation
import OnlineCFCore
import OnlineCFKV

/// Who holds a writer lease, as its key's value says: `TOKEN HOST PID STARTED_MS`
/// (space-separated; the token is 32 hex digits, STARTED_MS the holder's start in Unix
/// milliseconds). The whole value is what a fenced write compares.
public struct LeaseHolder: Sendable, Equatable, CustomStringConvertible {
    public var token: String
    public var host: String
    public var pid: Int32
    public var startedAtMillis: Int64

    public init(token: String, host: String, pid: Int32, startedAtMillis: Int64) {
        self.token = token
        self.host = host
        self.pid = pid
        self.startedAtMillis = startedAtMillis
    }

    /// Parses a lease value; nil for anything else.
    public init?(value: String) {
        let parts = value.split(separator: " ")
        guard parts.count == 4, let pid = Int32(parts[2]), let started = Int64(parts[3]) else { return nil }
        self.init(token: String(parts[0]), host: String(parts[1]), pid: pid, startedAtMillis: started)
    }

    /// A new holder: this process, now, with a random token.
    public static func thisProcess() -> LeaseHolder {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<2).map { _ in String(generator.next() as UInt64, radix: 16).leftPadded(to: 16) }.joined()
        return LeaseHolder(token: token, host: hostName(), pid: getpid(), startedAtMillis: Int64(Date().timeIntervalSince1970 * 1000))
    }

    public var value: String { "\(token) \(host) \(pid) \(startedAtMillis)" }

    /// `pid 123 on host h, since 2026-12-01T08:00:00Z`.
    public var description: String {
        let since = Date(timeIntervalSince1970: Double(startedAtMillis) / 1000)
        return "pid \(pid) on host \(host), since \(since.formatted(.iso8601))"
    }

    /// Whether this holder is a process of this host that no longer exists (killed, or
    /// crashed): its lease may be taken over at once instead of waiting for it to lapse.
    public var isGoneFromThisHost: Bool {
        guard host == Self.hostName(), pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "unknown" : name.replacingOccurrences(of: " ", with: "_")
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// The writer lease of one (namespace, worker): only its holder writes that worker's
/// state, so two processes on one namespace never interleave their commits.
///
/// Guarantees:
/// - ``acquire(client:keys:worker:period:)`` takes the lease with
///   `SET key value NX PX period`, or throws ``RuntimeError/Code/leaseHeld`` naming the
///   holder and when its lease lapses. A holder that was a process of this host and no
///   longer exists (a SIGKILL, a crash) is taken over at once.
/// - A thread with its own connection renews the lease every third of its period, with a
///   script that extends it only while the value is still this holder's. A lease that
///   lapsed while nobody took it (a pause, a KV restart without persistence) is taken
///   back only if no commit happened meanwhile (the meta's `commits` counter).
/// - Every commit of the holder's state is fenced (``StateStore`` runs it in a script
///   that first checks the lease's value), so a process whose lease was taken over —
///   paused past its lease by SIGSTOP, a long stall, a network partition — cannot write
///   its state again: its commit fails with ``RuntimeError/Code/leaseLost``, and so does
///   ``check()`` once the renewal found the lease gone.
/// - ``release()`` stops renewing and deletes the key if it is still this holder's.
///
/// The lease key is `{ns}:{{ns}/{w}}:lease` (the worker's hash tag: it lives in the same
/// Redis Cluster slot as the state it fences).
public final class WriterLease: Sendable {
    public let holder: LeaseHolder
    public let key: String
    public let period: Duration
    public let namespace: String
    public let worker: Int
    /// The fence a ``StateStore`` puts in front of this holder's commits.
    public let fence: StateStore.Fence
    private let shared: Shared

    // The flags are only touched with `condition` locked; NSCondition also gives the
    // renewal thread its timed wait, which Synchronization's Mutex does not.
    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        var stopping = false
        var stopped = false
        var lost: RuntimeError?
    }

    /// Extends the lease while it is `ARGV[1]`'s; takes it back when it lapsed unheld and
    /// no commit happened since this holder's last (the meta `KEYS[2]`'s `commits` is
    /// `ARGV[3]`).
    static let renewScript = """
    local v = redis.call('GET', KEYS[1])
    if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    if v then return redis.error_reply('LEASELOST ' .. v) end
    if (redis.call('HGET', KEYS[2], 'commits') or '0') ~= ARGV[3] then return redis.error_reply('LEASELOST lapsed') end
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 2
    """

    /// Replaces a gone holder's lease (`ARGV[1]`, compared first) with `ARGV[2]`.
    static let takeOverScript = """
    local v = redis.call('GET', KEYS[1])
    if v ~= ARGV[1] and v then return 0 end
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
    """

    /// Deletes the lease if it is still `ARGV[1]`'s.
    static let releaseScript = """
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0
    """

    private init(holder: LeaseHolder, keys: KeySchema, worker: Int, period: Duration, endpoint: RedisEndpoint) {
        self.holder = holder
        self.key = keys.lease(worker: worker)
        self.period = period
        self.namespace = keys.namespace
        self.worker = worker
        let shared = Shared()
        self.shared = shared
        let key = self.key, value = holder.value, millis = String(period.milliseconds), meta = keys.meta(worker: worker)
        let fence = StateStore.Fence(key: key, value: value, periodMillis: period.milliseconds)
        self.fence = fence
        let interval = Double(period.milliseconds) / 3000
        let thread = Thread {
            let client = RedisClient(endpoint: endpoint, log: stderrLine, shouldGiveUp: {
                shared.condition.lock(); defer { shared.condition.unlock() }
                return shared.stopping
            })
            while true {
                shared.condition.lock()
                if !shared.stopping { _ = shared.condition.wait(until: Date(timeIntervalSinceNow: interval)) }
                let stopping = shared.stopping
                shared.condition.unlock()
                if stopping { break }
                let reply = try? client.send(RedisCommand("EVAL", Self.renewScript, "2", key, meta, value, millis, String(fence.expectedCommits)))
                if case .error(let message)? = reply, message.hasPrefix("LEASELOST") {
                    let other = LeaseHolder(value: String(message.dropFirst("LEASELOST ".count)))
                    shared.condition.lock()
                    shared.lost = Self.lostError(namespace: keys.namespace, worker: worker, to: other)
                    shared.condition.unlock()
                    break
                }
            }
            client.close()
            shared.condition.lock()
            shared.stopped = true
            shared.condition.broadcast()
            shared.condition.unlock()
        }
        thread.name = "onlinecf-lease"
        thread.start()
    }

    /// Takes the lease of `worker` in `keys`' namespace for `period`, and keeps renewing it.
    public static func acquire(client: RedisClient, keys: KeySchema, worker: Int, period: Duration) throws -> WriterLease {
        let holder = LeaseHolder.thisProcess()
        let key = keys.lease(worker: worker), millis = String(period.milliseconds)
        for _ in 0..<5 {
            if try client.execute(RedisCommand("SET", key, holder.value, "NX", "PX", millis)).string == "OK" {
                return WriterLease(holder: holder, keys: keys, worker: worker, period: period, endpoint: client.endpoint)
            }
            guard let value = try client.execute(RedisCommand("GET", key)).string else { continue }  // lapsed meanwhile
            let other = LeaseHolder(value: value)
            if let other, other.isGoneFromThisHost {
                if try client.execute(RedisCommand("EVAL", takeOverScript, "1", key, value, holder.value, millis)).int == 1 {
                    stderrLine("namespace '\(keys.namespace)' worker \(worker): took over the writer lease of \(other), a process that no longer runs")
                    return WriterLease(holder: holder, keys: keys, worker: worker, period: period, endpoint: client.endpoint)
                }
                continue
            }
            let left = try client.execute(RedisCommand("PTTL", key)).int ?? -2
            let lapse = left >= 0 ? "its lease lapses in \(String(format: "%.1f", Double(left) / 1000)) s unless renewed" : "its lease does not lapse"
            throw RuntimeError("namespace '\(keys.namespace)' worker \(worker) is written by another process: \(other.map(\.description) ?? value) (\(lapse)). One process writes a (namespace, worker) at a time: stop that one first, wait for its lease to lapse, or use another --namespace or --worker. 'onlinecf status' shows the holders.", code: .leaseHeld)
        }
        throw RuntimeError("namespace '\(keys.namespace)' worker \(worker): the writer lease changed hands five times while this process tried to take it; another process is starting on it", code: .leaseHeld)
    }

    static func lostError(namespace: String, worker: Int, to other: LeaseHolder?) -> RuntimeError {
        RuntimeError("namespace '\(namespace)' worker \(worker): this process lost its writer lease\(other.map { " to \($0)" } ?? ""): it was paused or cut off longer than the lease period, and another process took over. It stops without writing; what it read but did not commit is read again by the holder from the source.", code: .leaseLost)
    }

    /// Throws ``RuntimeError/Code/leaseLost`` once the renewal found the lease taken.
    public func check() throws {
        shared.condition.lock()
        let lost = shared.lost
        shared.condition.unlock()
        if let lost { throw lost }
    }

    /// Stops renewing and deletes the lease if it is still this holder's.
    public func release(client: RedisClient) {
        shared.condition.lock()
        shared.stopping = true
        shared.condition.broadcast()
        while !shared.stopped { shared.condition.wait() }
        let lost = shared.lost != nil
        shared.condition.unlock()
        if !lost { _ = try? client.send(RedisCommand("EVAL", Self.releaseScript, "1", key, holder.value)) }
    }
}
