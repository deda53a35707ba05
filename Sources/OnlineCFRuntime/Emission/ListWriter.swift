import Foundation
import OnlineCFCore
import OnlineCFKV

/// Computed lists of one family (an algorithm, or a recall output), ready to be written.
public struct ListSlice: Sendable {
    public var family: ListFamily
    /// `entityNames[index]` is the id of an entity index (whose list it is).
    public var entityNames: [String]
    /// `names[index]` is the id of a neighbour index.
    public var names: [String]
    public var lists: [(entity: UInt32, neighbours: [ScoredNeighbor])]
    /// Ready ``SortedSetDump`` payloads, one per list (nil: none, for an empty list or one
    /// that cannot be a listpack); empty when not built. The writer RESTOREs these where
    /// the server takes them, so building them (the costly part) can happen elsewhere.
    public var payloads: [[UInt8]?] = []
    /// When set, the writer records afterwards that the lists reflect this many log chunks.
    public var emittedChunks: Int?
    /// Whether that emission was full (every changed list, not only touched ones).
    public var full = false
    /// Set on an emission's last slice: the writer records when it finished writing it.
    public var emission: Int?
}

/// Writes list slices into the KV store on its own thread and connection, so reading
/// and applying events go on while the KV store absorbs the writes.
///
/// Guarantees: slices are written in the order submitted; each list is replaced
/// atomically (one RESTORE of a ready listpack where the server takes it, else DEL then
/// ZADD in a MULTI/EXEC block of that key), so a reader sees the old list or the new one,
/// never a mix; the index sets follow their lists in the same pipeline; `submit` blocks while
/// `capacity` slices are waiting (back-pressure); a write that fails after the client's
/// retries is reported by the next `submit` or `waitUntilIdle`. With `ttlMillis` (TTL
/// expiry), every list key written and every index set touched expires that long after
/// (wall clock): RESTORE's ttl argument, or PEXPIRE inside the key's MULTI/EXEC block.
public final class ListWriter: Sendable {
    public let capacity: Int
    public let ttlMillis: Int64?
    // The queue and flags are only touched with `condition` locked; the class is
    // Sendable because that lock serialises every access (NSCondition is the wait/signal
    // primitive the standard library does not have).
    private let shared: Shared

    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        var queue: [ListSlice] = []
        var busy = false
        var stopping = false
        var error: (any Error)?
        var commandsSent = 0
        var outOfMemoryWaits = 0
        var completed: [(emission: Int, at: ContinuousClock.Instant)] = []
    }

    /// Starts the writer thread with its own client for `endpoint`.
    /// `worker` and `fence` are the job's: the writer records emissions in that worker's
    /// meta, behind the fence, and checks the fence before each slice's lists.
    public init(endpoint: RedisEndpoint, keys: KeySchema, worker: Int = 0, fence: StateStore.Fence? = nil,
                capacity: Int = 2, ttlMillis: Int64? = nil, shouldGiveUp: @escaping @Sendable () -> Bool = { false }) {
        self.capacity = capacity
        self.ttlMillis = ttlMillis
        let shared = Shared()
        self.shared = shared
        let thread = Thread {
            let client = RedisClient(endpoint: endpoint, log: stderrLine, shouldGiveUp: shouldGiveUp)
            let store = StateStore(client: client, keys: keys, worker: worker, fence: fence)
            var restores = Self.acceptsRestore(store)
            while true {
                shared.condition.lock()
                while shared.queue.isEmpty && !shared.stopping { shared.condition.wait() }
                if shared.queue.isEmpty { shared.condition.unlock(); break }
                let slice = shared.queue.removeFirst()
                shared.busy = true
                shared.condition.broadcast()
                shared.condition.unlock()
                var failure: (any Error)?
                do {
                    try Self.write(slice, store: store, restores: restores, ttlMillis: ttlMillis)
                } catch let error as RuntimeError where restores && error.description.lowercased().contains("restore") {
                    // The server refused RESTORE after all (an ACL, a proxy): write with ZADD from now on.
                    restores = false
                    do { try Self.write(slice, store: store, restores: false, ttlMillis: ttlMillis) } catch { failure = error }
                } catch {
                    failure = error
                }
                shared.condition.lock()
                shared.commandsSent = client.commandsSent
                shared.outOfMemoryWaits = client.outOfMemoryWaits
                if failure == nil, let emission = slice.emission { shared.completed.append((emission, ContinuousClock.now)) }
                shared.busy = false
                if let failure, shared.error == nil { shared.error = failure }
                shared.condition.broadcast()
                shared.condition.unlock()
            }
            client.close()
        }
        thread.name = "onlinecf-list-writer"
        thread.start()
    }

    /// KV commands the writer has sent.
    public var commandsSent: Int {
        shared.condition.lock(); defer { shared.condition.unlock() }
        return shared.commandsSent
    }

    /// Writes the server refused with `-OOM` and the writer resent after a wait.
    public var outOfMemoryWaits: Int {
        shared.condition.lock(); defer { shared.condition.unlock() }
        return shared.outOfMemoryWaits
    }

    /// Emissions whose last slice has been written since the last call, with when.
    public func takeCompletions() -> [(emission: Int, at: ContinuousClock.Instant)] {
        shared.condition.lock(); defer { shared.condition.unlock() }
        defer { shared.completed.removeAll() }
        return shared.completed
    }

    /// True when a slice is queued or being written.
    public var isBusy: Bool {
        shared.condition.lock(); defer { shared.condition.unlock() }
        return shared.busy || !shared.queue.isEmpty
    }

    /// True when a slice can be queued without waiting.
    public var hasRoom: Bool {
        shared.condition.lock(); defer { shared.condition.unlock() }
        return shared.queue.count < capacity
    }

    /// Queues a slice, waiting while the queue is full.
    public func submit(_ slice: ListSlice) throws {
        shared.condition.lock(); defer { shared.condition.unlock() }
        while shared.queue.count >= capacity && shared.error == nil { shared.condition.wait() }
        if let error = shared.error { throw error }
        shared.queue.append(slice)
        shared.condition.broadcast()
    }

    /// Waits until every queued slice is written.
    public func waitUntilIdle() throws {
        shared.condition.lock(); defer { shared.condition.unlock() }
        while (shared.busy || !shared.queue.isEmpty) && shared.error == nil { shared.condition.wait() }
        if let error = shared.error { throw error }
    }

    /// Lets the thread finish what is queued and end.
    public func stop() {
        shared.condition.lock()
        shared.stopping = true
        shared.condition.broadcast()
        shared.condition.unlock()
    }

    private static let listsPerIndexUpdate = 256

    /// The RESTORE payload of a list (nil when it cannot be a listpack).
    public static func payload(_ neighbours: [ScoredNeighbor], names: [String]) -> [UInt8]? {
        SortedSetDump.payload(bestFirst: neighbours.count, member: { names[Int(neighbours[$0].index)] }, score: { neighbours[$0].score })
    }

    /// Whether the server loads ``SortedSetDump`` payloads: Redis ≥ 7.0 or Valkey, and
    /// RESTORE allowed (probed on a scratch key).
    static func acceptsRestore(_ store: StateStore) -> Bool {
        guard let info = try? store.client.execute(RedisCommand("INFO", "server")).string,
              let version = ServerVersion(info: info), version.supportsListpackDump,
              let payload = SortedSetDump.payload([(Array("probe".utf8), 1)]) else { return false }
        let key = store.keys.namespace + ":restore-probe"
        var restore = RedisCommand("RESTORE", key, "0")
        restore.append(bytes: payload)
        restore.append(string: "REPLACE")
        guard let replies = try? store.client.pipeline([restore, RedisCommand("DEL", key)]), replies.first?.string == "OK" else { return false }
        return true
    }

    /// Writes a slice. With `restores`, a list small enough to be a listpack is written
    /// with one RESTORE of a payload built here (see ``SortedSetDump``), else DEL + ZADD in
    /// a MULTI/EXEC block of that one key. Every atomic step touches one key, so the writes
    /// work unchanged on a Redis Cluster (the index sets are updated after their lists).
    private static func write(_ slice: ListSlice, store: StateStore, restores: Bool, ttlMillis: Int64? = nil) throws {
        // A process that lost its writer lease writes no more lists (the check and the
        // lists are not one atomic step: see docs/state.md, "One writer per namespace").
        if store.fence != nil { try store.writeState([], what: "checking the writer lease") }
        let ttl = ttlMillis.map { Array(String($0).utf8) }
        let keys = store.keys
        let prefix = Array(keys.listPrefix(slice.family).utf8)
        let indexKey = keys.index(slice.family)
        let names = slice.names, entityNames = slice.entityNames
        var round: [RedisCommand] = []
        var start = 0
        while start < slice.lists.count {
            let end = min(slice.lists.count, start + listsPerIndexUpdate)
            var added = RedisCommand("SADD", indexKey), removed = RedisCommand("SREM", indexKey)
            for (n, (entity, neighbours)) in zip(start..<end, slice.lists[start..<end]) {
                let id = entityNames[Int(entity)]
                let key = prefix + Array(id.utf8)
                if restores, !neighbours.isEmpty,
                   let payload = slice.payloads.isEmpty ? Self.payload(neighbours, names: names) : slice.payloads[n] {
                    round.append(RedisCommand(arguments: [Array("RESTORE".utf8), key, ttl ?? [0x30], payload, Array("REPLACE".utf8)]))
                    added.append(string: id)
                    continue
                }
                if neighbours.isEmpty {
                    round.append(RedisCommand(arguments: [Array("DEL".utf8), key]))
                    removed.append(string: id)
                } else {
                    var zadd = RedisCommand(arguments: [Array("ZADD".utf8), key])
                    zadd.arguments.reserveCapacity(2 + 2 * neighbours.count)
                    for n in neighbours {
                        zadd.append(string: String(n.score))
                        zadd.append(string: names[Int(n.index)])
                    }
                    round.append(RedisCommand("MULTI"))
                    round.append(RedisCommand(arguments: [Array("DEL".utf8), key]))
                    round.append(zadd)
                    if let ttl { round.append(RedisCommand(arguments: [Array("PEXPIRE".utf8), key, ttl])) }
                    round.append(RedisCommand("EXEC"))
                    added.append(string: id)
                }
            }
            if added.arguments.count > 2 { round.append(added) }
            if removed.arguments.count > 2 { round.append(removed) }
            if let ttl, added.arguments.count > 2 || removed.arguments.count > 2 {
                round.append(RedisCommand(arguments: [Array("PEXPIRE".utf8), Array(indexKey.utf8), ttl]))
            }
            start = end
        }
        if !round.isEmpty { try store.writeTransactions(round) }
        if let chunks = slice.emittedChunks {
            try store.markEmitted(emittedChunks: chunks, full: slice.full, atMillis: Int64(Date().timeIntervalSince1970 * 1000))
        }
    }
}

