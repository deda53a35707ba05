import OnlineCFCore
import OnlineCFKV
import Synchronization

/// What the KV store says about a namespace's state (the `{ns}:meta` hash).
public struct StateMeta: Sendable, Equatable {
    public var schema: Int?
    public var parameters: String?
    /// Chunks of the event log committed (chunk numbers 0..<logChunks).
    public var logChunks: Int = 0
    /// Chunks whose effect on the lists has been emitted (touched lists at least).
    public var emittedChunks: Int = 0
    /// Chunks whose effect on every list has been emitted (by a full emission).
    public var fullEmittedChunks: Int = 0
    /// Input lines committed by the runs so far (for information).
    public var linesCommitted: Int = 0
    /// Lines of the current input committed: what `--resume` skips when the same input
    /// is piped again. A run without `--resume` starts it from 0.
    public var inputLinesCommitted: Int = 0
    /// Events in the log (distinct user-item pairs).
    public var eventsCommitted: Int = 0
    /// The log chunk count at the last exact Swing rebuild (0: none): replay rebuilds there.
    public var swingRebuildChunk: Int = 0
    /// Committed positions of replayable sources, by source identity (fields
    /// `source:{identity}`, such as `source:file:/data/events`): where the committed state
    /// ends in that source.
    public var sourcePositions: [String: String] = [:]
    /// How many workers the job that wrote this meta ran with (field `workers`; nil when
    /// absent). Ownership is a hash modulo the worker count, so the count of a shared job
    /// cannot change under its state.
    public var workers: Int?
    /// Worker 0 of a shared job that started on an empty namespace (field
    /// `shared_from_start`): its state holds nothing a peer could not read from the input
    /// itself, so a peer without a state of its own starts empty too.
    public var sharedFromStart = false
    /// Commits so far (field `commits`): a writer whose lease lapsed may take it back only
    /// while this has not moved (see ``StateStore/Fence``).
    public var commits: Int = 0
    /// The current snapshot (fields `snapshot_*`; nil when the state is the log alone):
    /// the state after log chunks `0..<logChunk`, whose log fields are deleted.
    public var snapshot: SnapshotRecord?
    /// The snapshot id this process is writing (recorded as field `snapshot_writing`
    /// before its first chunk), kept for a retry of the same snapshot.
    public var snapshotWriting: Int?
    /// A snapshot id another process was writing when it stopped (field
    /// `snapshot_writing` as loaded): its chunks are garbage, and since that process may
    /// only be paused, still writing them, this process never writes under that id. It
    /// takes the next one and deletes the abandoned chunks once its own snapshot is current.
    public var abandonedSnapshot: Int?
}

/// Where a worker's current snapshot is and what it covers (see ``StateStore/writeSnapshot(_:meta:)``).
public struct SnapshotRecord: Sendable, Equatable {
    /// Increases with every snapshot of the worker; names its chunk keys.
    public var id: Int
    /// Chunks of ``StateStore/snapshotChunkBytes`` bytes (the last one shorter).
    public var chunks: Int
    public var bytes: Int
    /// ``SnapshotChecksum`` of the bytes.
    public var checksum: UInt64
    /// The log chunks the snapshot holds (`0..<logChunk`); the log from there replays on top.
    public var logChunk: Int
    /// The meta's `events_committed` when it was taken.
    public var events: Int
    /// When it was made current, Unix milliseconds.
    public var atMillis: Int64
    /// The worker count of the job that took it (field `snapshot_workers`; 1 when absent):
    /// a snapshot taken with several holds only its worker's rows.
    public var workers: Int = 1
}

/// The durable home of a namespace in the KV store: the event log that rebuilds the
/// state, the emitted lists and their indexes, the item table. Every write is
/// idempotent (a MULTI/EXEC block, or one command), so the client may resend it after a
/// connection loss without double counting, and touches one hash slot, so it runs
/// unchanged on a Redis Cluster.
///
/// A store writes the state of one worker (``worker``; 0 for a job that runs alone) and
/// reads any worker's. With a ``fence`` (a job's ``WriterLease``), every write of that
/// worker's state (log chunk, meta, sketch, marks) runs in one script that first checks
/// the lease, so a process that lost its lease cannot write it.
public final class StateStore {
    /// Commands sent by the store's own helper connections (snapshot reads and writes),
    /// which `client.commandsSent` does not count.
    public internal(set) var sideCommandsSent = 0
    public let client: RedisClient
    public let keys: KeySchema
    /// The worker whose state this store commits.
    public let worker: Int

    /// The writer lease a commit must still hold (nil: unfenced, for tools that write
    /// no job state). See ``WriterLease``.
    public var fence: Fence?

    /// A writer lease's key and value: a fenced write first checks that the key still
    /// holds the value. When the key is gone (the lease lapsed while nobody took it, or
    /// the KV store lost it), the write takes it back only if no commit happened since this
    /// holder's last (the meta's `commits` counter equals ``expectedCommits``): a
    /// process that was paused while another one committed cannot write again.
    public final class Fence: Sendable {
        public let key: String
        public let value: String
        public let periodMillis: Int64
        private let commits = Atomic<Int>(0)

        public init(key: String, value: String, periodMillis: Int64) {
            self.key = key
            self.value = value
            self.periodMillis = periodMillis
        }

        /// The meta's `commits` as of this holder's last commit (or restore).
        public var expectedCommits: Int {
            get { commits.load(ordering: .acquiring) }
            set { commits.store(newValue, ordering: .releasing) }
        }
    }

    /// Checks the lease (re-taking a lapsed one only while the meta's `commits` is
    /// `ARGV[3]`), then runs the commands (`ARGV[4…]`: each command's argument count and
    /// arguments) — atomically, as one script.
    static let fencedScript = """
    local v = redis.call('GET', KEYS[1])
    if v ~= ARGV[1] then
      if v then return redis.error_reply('LEASELOST ' .. v) end
      if (redis.call('HGET', KEYS[2], 'commits') or '0') ~= ARGV[3] then return redis.error_reply('LEASELOST lapsed') end
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    end
    local i = 4
    while i <= #ARGV do
      local n = tonumber(ARGV[i])
      redis.call(unpack(ARGV, i + 1, i + n))
      i = i + n + 1
    end
    return 'OK'
    """

    /// Runs `commands` on this worker's state keys atomically: behind the fence in one
    /// script when the store has one, else in a MULTI/EXEC block. Every command must touch
    /// only this worker's state keys (one hash slot).
    func writeState(_ commands: [RedisCommand], what: String) throws {
        guard let fence else {
            try checkTransaction(try client.pipeline([RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")]), what: what)
            return
        }
        var eval = RedisCommand("EVAL", Self.fencedScript, "4", fence.key, keys.meta(worker: worker), keys.log(worker: worker),
                                keys.admissionSketch(worker: worker), fence.value, String(fence.periodMillis), String(fence.expectedCommits))
        for command in commands {
            eval.append(string: String(command.arguments.count))
            for argument in command.arguments { eval.append(bytes: argument) }
        }
        let reply = try client.send(eval)
        if case .error(let message) = reply {
            if message.hasPrefix("LEASELOST") {
                throw WriterLease.lostError(namespace: keys.namespace, worker: worker,
                                            to: LeaseHolder(value: String(message.dropFirst("LEASELOST ".count))))
            }
            throw RuntimeError("\(what) failed: \(message)")
        }
    }

    public init(client: RedisClient, keys: KeySchema, worker: Int = 0, fence: Fence? = nil) {
        self.client = client
        self.keys = keys
        self.worker = worker
        self.fence = fence
    }

    // MARK: meta

    /// Reads a worker's meta (default: this store's worker). Throws when the namespace
    /// holds another key schema version.
    public func loadMeta(worker: Int? = nil) throws -> StateMeta {
        let reply = try client.execute(RedisCommand("HGETALL", keys.meta(worker: worker ?? self.worker)))
        var fields: [String: String] = [:]
        let items = reply.array ?? []
        var i = 0
        while i + 1 < items.count {
            if let k = items[i].string, let v = items[i + 1].string { fields[k] = v }
            i += 2
        }
        var meta = StateMeta()
        meta.schema = fields["schema"].flatMap { Int($0) }
        meta.parameters = fields["parameters"]
        meta.logChunks = fields["log_chunks"].flatMap { Int($0) } ?? 0
        meta.emittedChunks = fields["emitted_chunks"].flatMap { Int($0) } ?? 0
        meta.fullEmittedChunks = min(meta.emittedChunks, fields["full_emitted_chunks"].flatMap { Int($0) } ?? 0)
        meta.linesCommitted = fields["lines_committed"].flatMap { Int($0) } ?? 0
        meta.inputLinesCommitted = fields["input_lines_committed"].flatMap { Int($0) } ?? 0
        meta.eventsCommitted = fields["events_committed"].flatMap { Int($0) } ?? 0
        meta.swingRebuildChunk = fields["swing_rebuild_chunk"].flatMap { Int($0) } ?? 0
        meta.workers = fields["workers"].flatMap { Int($0) }
        meta.commits = fields["commits"].flatMap { Int($0) } ?? 0
        meta.sharedFromStart = fields["shared_from_start"] == "1"
        if let id = fields["snapshot"].flatMap({ Int($0) }) {
            meta.snapshot = SnapshotRecord(id: id, chunks: fields["snapshot_chunks"].flatMap { Int($0) } ?? 0,
                                           bytes: fields["snapshot_bytes"].flatMap { Int($0) } ?? 0,
                                           checksum: fields["snapshot_checksum"].flatMap { UInt64($0) } ?? 0,
                                           logChunk: fields["snapshot_log_chunk"].flatMap { Int($0) } ?? 0,
                                           events: fields["snapshot_events"].flatMap { Int($0) } ?? 0,
                                           atMillis: fields["snapshot_at_ms"].flatMap { Int64($0) } ?? 0,
                                           workers: fields["snapshot_workers"].flatMap { Int($0) } ?? 1)
        }
        meta.abandonedSnapshot = fields["snapshot_writing"].flatMap { Int($0) }
        for (field, value) in fields where field.hasPrefix("source:") {
            meta.sourcePositions[String(field.dropFirst("source:".count))] = value
        }
        var schema = meta.schema
        if schema == nil, (try client.execute(RedisCommand("EXISTS", keys.versionOneMeta)).int ?? 0) > 0 { schema = 1 }
        if let schema, schema != KeySchema.version {
            throw RuntimeError("namespace '\(keys.namespace)' holds key schema version \(schema); this build reads version \(KeySchema.version). Use another --namespace, or 'onlinecf reset' and backfill with 'onlinecf batch'.")
        }
        return meta
    }

    /// Whether each of `workers` has a state of its own (a snapshot or a log chunk), in
    /// one round trip.
    public func hasState(ofWorkers workers: [Int]) throws -> [Bool] {
        let replies = try client.pipeline(workers.map { RedisCommand("HMGET", keys.meta(worker: $0), "log_chunks", "snapshot") })
        return replies.map { reply in
            let fields = (reply.array ?? []).map(\.string)
            return (fields.first.flatMap { $0.flatMap { Int($0) } } ?? 0) > 0 || (fields.count > 1 && fields[1] != nil)
        }
    }

    // MARK: event log

    /// Reads the committed chunks `from..<count` of a worker's log (default: this store's
    /// worker) in order and hands their events to `body`.
    public func forEachLogChunk(worker: Int? = nil, from: Int = 0, count: Int, _ body: (_ chunk: Int, [Event]) throws -> Void) throws {
        let logKey = keys.log(worker: worker ?? self.worker)
        var next = from
        while next < count {
            let end = min(count, next + 64)
            let replies = try client.pipeline((next..<end).map { RedisCommand("HGET", logKey, String($0)) })
            for (offset, reply) in replies.enumerated() {
                let chunk = next + offset
                guard let bytes = reply.bytes else {
                    throw RuntimeError("event log chunk \(chunk) of namespace '\(keys.namespace)' is missing (\(reply)); the state is damaged: 'onlinecf reset' and backfill with 'onlinecf batch'")
                }
                try body(chunk, try EventLogCodec.decode(bytes))
            }
            next = end
        }
    }

    /// Commits one chunk of new events (none: only the counters and the source position)
    /// and the progress counters, atomically. `source` is the position of the job's source
    /// after the last line whose effect is in the state: it moves with the state, in the
    /// same MULTI/EXEC (`sources`: several positions, by source identity).
    public func commitChunk(number: Int, events: EventLogChunk, meta: StateMeta, parameters: String,
                            source: (identity: String, position: String)? = nil, sources: [String: String] = [:],
                            admissionSketch: [UInt8]? = nil) throws {
        var hset = RedisCommand("HSET", keys.meta(worker: worker), "schema", String(KeySchema.version), "parameters", parameters)
        hset.append(string: "log_chunks"); hset.append(string: String(meta.logChunks))
        hset.append(string: "lines_committed"); hset.append(string: String(meta.linesCommitted))
        hset.append(string: "input_lines_committed"); hset.append(string: String(meta.inputLinesCommitted))
        hset.append(string: "events_committed"); hset.append(string: String(meta.eventsCommitted))
        hset.append(string: "workers"); hset.append(string: String(meta.workers ?? 1))
        if meta.sharedFromStart { hset.append(string: "shared_from_start"); hset.append(string: "1") }
        if let source { hset.append(string: "source:" + source.identity); hset.append(string: source.position) }
        for (identity, position) in sources.sorted(by: { $0.key < $1.key }) { hset.append(string: "source:" + identity); hset.append(string: position) }
        var commands: [RedisCommand] = []
        if !events.isEmpty {
            var log = RedisCommand("HSET", keys.log(worker: worker), String(number))
            log.append(bytes: events.bytes)
            commands.append(log)
        }
        commands.append(hset)
        if let admissionSketch {
            var set = RedisCommand("SET", keys.admissionSketch(worker: worker))
            set.append(bytes: admissionSketch)
            commands.append(set)
        }
        commands.append(RedisCommand("HINCRBY", keys.meta(worker: worker), "commits", "1"))
        try writeState(commands, what: "commit of event log chunk \(number)")
        fence?.expectedCommits += 1
    }

    /// The admission sketch committed with a worker's state (default: this store's), if any.
    public func loadAdmissionSketch(worker: Int? = nil) throws -> [UInt8]? {
        try client.execute(RedisCommand("GET", keys.admissionSketch(worker: worker ?? self.worker))).bytes
    }

    /// Records that Swing was rebuilt exactly after `chunks` log chunks.
    public func markSwingRebuild(chunks: Int) throws {
        try writeState([RedisCommand("HSET", keys.meta(worker: worker), "swing_rebuild_chunk", String(chunks))], what: "recording a Swing rebuild")
    }

    /// Records that the lists reflect every chunk below `emittedChunks` (all lists when
    /// `full`, touched ones otherwise).
    public func markEmitted(emittedChunks: Int, full: Bool, atMillis: Int64) throws {
        var command = RedisCommand("HSET", keys.meta(worker: worker), "emitted_chunks", String(emittedChunks), "emitted_at_ms", String(atMillis))
        if full { command.append(string: "full_emitted_chunks"); command.append(string: String(emittedChunks)) }
        try writeState([command], what: "recording an emission")
    }

    // MARK: lists

    /// Runs a pipeline of MULTI … EXEC blocks and checks every reply.
    public func writeTransactions(_ commands: [RedisCommand]) throws {
        try checkTransaction(try client.pipeline(commands), what: "list emission")
    }

    private func checkTransaction(_ replies: [RESPValue], what: String) throws {
        for reply in replies {
            if case .error(let message) = reply {
                throw RuntimeError("\(what) failed: \(message)")
            }
            if case .array(let inner) = reply, let bad = inner.first(where: \.isError) {
                throw RuntimeError("\(what) failed: \(bad)")
            }
        }
    }

    /// The ids that have a list of `algorithm`, in byte-wise order.
    public func listIds(_ algorithm: Algorithm) throws -> [String] { try listIds(.algorithm(algorithm)) }

    /// The ids that have a list of `family`, in byte-wise order.
    public func listIds(_ family: ListFamily) throws -> [String] {
        var ids: [String] = []
        try scan({ RedisCommand("SSCAN", keys.index(family), $0, "COUNT", "10000") }) { batch in
            for member in batch { if let s = member.string { ids.append(s) } }
        }
        ids.sort { $0.utf8Precedes($1) }
        return ids
    }

    /// Reads lists: best first, ties by neighbour id (byte-wise). `limit` 0 = whole list.
    public func readLists(_ algorithm: Algorithm, ids: [String], limit: Int = 0) throws -> [[(String, Double)]] {
        try readLists(.algorithm(algorithm), ids: ids, limit: limit)
    }

    /// Reads lists of a family: best first, ties by member id (byte-wise). `limit` 0 = whole list.
    public func readLists(_ family: ListFamily, ids: [String], limit: Int = 0) throws -> [[(String, Double)]] {
        var out: [[(String, Double)]] = []
        out.reserveCapacity(ids.count)
        var start = 0
        while start < ids.count {
            let end = min(ids.count, start + 512)
            out += try readSortedSets(ids[start..<end].map { keys.list(family, id: $0) }, limit: limit)
            start = end
        }
        return out
    }

    // MARK: item table

    /// Every item → author pair of the item table.
    public func loadItemAuthors() throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        try scan({ RedisCommand("HSCAN", keys.itemAuthors, $0, "COUNT", "10000") }) { flat in
            var i = 0
            while i + 1 < flat.count {
                if let item = flat[i].string, let author = flat[i + 1].string { pairs.append((item, author)) }
                i += 2
            }
        }
        return pairs
    }

    public func storeItemAuthors(_ pairs: [(String, String)]) throws {
        var commands: [RedisCommand] = []
        var start = 0
        while start < pairs.count {
            var command = RedisCommand("HSET", keys.itemAuthors)
            for (item, author) in pairs[start..<min(pairs.count, start + 1000)] {
                command.append(string: item); command.append(string: author)
            }
            commands.append(command)
            start += 1000
        }
        for reply in try client.pipeline(commands) where reply.isError {
            throw RuntimeError("storing the item table failed: \(reply)")
        }
    }

    // MARK: item moderation

    /// The revision counter of item statuses and expiries (0 when never set): cheap to
    /// poll, it changes whenever ``setItems(_:)`` changes anything.
    public func moderationRevision() throws -> Int {
        Int(try client.execute(RedisCommand("GET", keys.itemRevision)).string ?? "0") ?? 0
    }

    /// Every item status and expiry.
    public func loadModeration() throws -> ItemModeration {
        var status: [String: ItemStatus] = [:]
        var expires: [String: Int64] = [:]
        try scan({ RedisCommand("HSCAN", keys.itemStatus, $0, "COUNT", "10000") }) { flat in
            var i = 0
            while i + 1 < flat.count {
                if let item = flat[i].string, let v = flat[i + 1].string, let st = ItemStatus(rawValue: v) { status[item] = st }
                i += 2
            }
        }
        try scan({ RedisCommand("HSCAN", keys.itemExpires, $0, "COUNT", "10000") }) { flat in
            var i = 0
            while i + 1 < flat.count {
                if let item = flat[i].string, let v = flat[i + 1].string, let t = Int64(v) { expires[item] = t }
                i += 2
            }
        }
        return ItemModeration(status: status, expiresMillis: expires)
    }

    /// A change to one item's row of the item table: author, status, expiry (`.some(nil)`
    /// clears the expiry); nil fields are left as they are.
    public struct ItemUpdate: Sendable {
        public var item: String
        public var author: String?
        public var status: ItemStatus?
        public var expiresMillis: Int64??
        public init(item: String, author: String? = nil, status: ItemStatus? = nil, expiresMillis: Int64?? = nil) {
            self.item = item; self.author = author; self.status = status; self.expiresMillis = expiresMillis
        }
    }

    /// Applies item updates (one command per field, pipelined in batches of 1000), then
    /// bumps the revision counter once if any status or expiry changed — after the
    /// updates' replies arrived, so a job that sees the new revision reads the new rows.
    public func setItems(_ updates: [ItemUpdate]) throws {
        var moderated = false
        var start = 0
        while start < updates.count {
            var commands: [RedisCommand] = []
            for u in updates[start..<min(updates.count, start + 1000)] {
                if let a = u.author { commands.append(RedisCommand("HSET", keys.itemAuthors, u.item, a)) }
                if let st = u.status {
                    moderated = true
                    commands.append(st == .active ? RedisCommand("HDEL", keys.itemStatus, u.item) : RedisCommand("HSET", keys.itemStatus, u.item, st.rawValue))
                }
                if let e = u.expiresMillis {
                    moderated = true
                    commands.append(e.map { RedisCommand("HSET", keys.itemExpires, u.item, String($0)) } ?? RedisCommand("HDEL", keys.itemExpires, u.item))
                }
            }
            try checkTransaction(try client.pipeline(commands), what: "updating the item table")
            start += 1000
        }
        if moderated { try checkTransaction([try client.send(RedisCommand("INCR", keys.itemRevision))], what: "updating the item table") }
    }

    /// Of `items`, those blocked at `nowMillis` (status hidden/deleted, or expired).
    public func blockedAmong(_ items: [String], nowMillis: Int64) throws -> Set<String> {
        guard !items.isEmpty else { return [] }
        var out = Set<String>()
        var start = 0
        while start < items.count {
            let batch = Array(items[start..<min(items.count, start + 1000)])
            var hs = RedisCommand("HMGET", keys.itemStatus), he = RedisCommand("HMGET", keys.itemExpires)
            for item in batch { hs.append(string: item); he.append(string: item) }
            let replies = try client.pipeline([hs, he])
            let statuses = replies[0].array ?? [], expiries = replies[1].array ?? []
            for (n, item) in batch.enumerated() {
                if n < statuses.count, let st = statuses[n].string, ItemStatus(rawValue: st) != .active { out.insert(item); continue }
                if n < expiries.count, let t = expiries[n].string.flatMap({ Int64($0) }), t <= nowMillis { out.insert(item) }
            }
            start += 1000
        }
        return out
    }

    /// The authors of `items` (nil where unknown), in order.
    public func authors(of items: [String]) throws -> [String?] {
        var out: [String?] = []
        var start = 0
        while start < items.count {
            var command = RedisCommand("HMGET", keys.itemAuthors)
            for item in items[start..<min(items.count, start + 1000)] { command.append(string: item) }
            out += (try client.execute(command).array ?? []).map(\.string)
            start += 1000
        }
        return out
    }

    // MARK: u2i seeds

    /// Stores u2i seeds (user, item, weight): ZADD into each user's `{ns}:u2i:{user}`,
    /// after deleting the users' earlier seeds when `replace`.
    public func storeU2ISeeds(_ rows: [(user: String, item: String, weight: Double)], replace: Bool) throws {
        var byUser: [String: [(String, Double)]] = [:]
        var order: [String] = []
        for r in rows {
            if byUser[r.user] == nil { order.append(r.user) }
            byUser[r.user, default: []].append((r.item, r.weight))
        }
        var commands: [RedisCommand] = []
        for user in order {
            let key = keys.u2iSeeds(user: user)
            if replace { commands.append(RedisCommand("DEL", key)) }
            var zadd = RedisCommand("ZADD", key)
            for (item, w) in byUser[user]! { zadd.append(string: String(w)); zadd.append(string: item) }
            commands.append(zadd)
            if commands.count >= 512 {
                for reply in try client.pipeline(commands) where reply.isError { throw RuntimeError("storing u2i seeds failed: \(reply)") }
                commands.removeAll()
            }
        }
        for reply in try client.pipeline(commands) where reply.isError { throw RuntimeError("storing u2i seeds failed: \(reply)") }
    }

    /// Reads sorted sets whole (member → score), one per key, in one pipeline.
    public func readSortedSets(_ keyNames: [String], limit: Int = 0) throws -> [[(String, Double)]] {
        // One DUMP per key: a listpack (every list OnlineCF writes, on Redis ≥ 7 and
        // Valkey) arrives as one bulk string, far cheaper for both sides than a reply
        // element per member and score. Keys in another encoding are read with ZRANGE.
        let replies = try client.pipeline(keyNames.map { RedisCommand("DUMP", $0) })
        // Decoded on every core when there are many (an export); nil: read with ZRANGE.
        let decoded = ParallelMap.map(count: replies.count, threads: JobConfiguration.defaultThreads) { n -> [(String, Double)]? in
            switch replies[n] {
            case .null: return []
            case .bulkString(let payload): return SortedSetDump.members(ofPayload: payload).map { Self.bestFirst(ascending: $0, limit: limit) }
            default: return nil
            }
        }
        var out: [[(String, Double)]] = Array(repeating: [], count: keyNames.count)
        var fallback: [Int] = []
        for (n, reply) in replies.enumerated() {
            if let lists = decoded[n] { out[n] = lists; continue }
            if case .error(let message) = reply, message.hasPrefix("WRONGTYPE") { throw RuntimeError("reading failed: \(message)") }
            fallback.append(n)
        }
        guard !fallback.isEmpty else { return out }
        let commands = fallback.map { RedisCommand("ZRANGE", keyNames[$0], "0", String(limit > 0 ? limit - 1 : -1), "REV", "WITHSCORES") }
        for (n, reply) in zip(fallback, try client.pipeline(commands)) {
            if case .error(let message) = reply { throw RuntimeError("reading failed: \(message)") }
            let flat = reply.array ?? []
            var entries: [(String, Double)] = []
            entries.reserveCapacity(flat.count / 2)
            var i = 0
            while i + 1 < flat.count {
                if let member = flat[i].string, let score = flat[i + 1].double { entries.append((member, score)) }
                i += 2
            }
            out[n] = Self.ordered(entries, limit: limit)
        }
        return out
    }

    /// Pairs in a listpack's order (ascending score, then member byte-wise) turned best
    /// first with ties by member byte-wise, without comparing members: reversed, then each
    /// run of equal scores reversed back.
    private static func bestFirst(ascending pairs: [(member: [UInt8], score: Double)], limit: Int) -> [(String, Double)] {
        var out: [(String, Double)] = []
        out.reserveCapacity(pairs.count)
        var end = pairs.count
        while end > 0 && (limit == 0 || out.count < limit) {
            var start = end - 1
            while start > 0 && pairs[start - 1].score == pairs[end - 1].score { start -= 1 }
            for p in start..<end { out.append((String(decoding: pairs[p].member, as: UTF8.self), pairs[p].score)) }
            end = start
        }
        return limit > 0 && out.count > limit ? Array(out.prefix(limit)) : out
    }

    /// Best first, ties by member byte-wise; the first `limit` (all when 0).
    private static func ordered(_ entries: [(String, Double)], limit: Int) -> [(String, Double)] {
        let sorted = entries.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.utf8Precedes($1.0) }
        return limit > 0 && sorted.count > limit ? Array(sorted.prefix(limit)) : sorted
    }

    // MARK: reset

    /// Deletes every key of the namespace (on every master of a cluster). Returns how many
    /// were deleted.
    /// With `keepingInputs`, the tables other systems write are kept: the item table
    /// (`{ns}:items:*`) and the u2i seeds (`{ns}:u2i:*`).
    @discardableResult
    public func reset(keepingInputs: Bool = false, keepingLeases: Bool = true) throws -> Int {
        var deleted = 0
        let kept: [[UInt8]] = keepingInputs ? [Array("\(keys.namespace):items:".utf8), Array("\(keys.namespace):u2i:".utf8)] : []
        let leases = keepingLeases ? Set((0..<1024).map { Array(keys.lease(worker: $0).utf8) }) : []
        try client.scanKeys(matching: keys.allKeysPattern) { batch in
            // Writer leases stay: they belong to processes, not to the state.
            let found = batch.filter { key in !kept.contains { key.starts(with: $0) } && !leases.contains(key) }
            if !found.isEmpty {
                var command = RedisCommand("DEL")
                for key in found { command.append(bytes: key) }
                deleted += Int(try client.execute(command).int ?? 0)
            }
        }
        return deleted
    }

    // MARK: writers

    /// The writer leases held on the namespace: worker, holder (nil when the value is not
    /// a lease), milliseconds until it lapses unless renewed.
    public func leases() throws -> [(worker: Int, holder: LeaseHolder?, value: String, lapsesInMillis: Int64)] {
        var found: [[UInt8]] = []
        try client.scanKeys(matching: keys.leasePattern) { found += $0 }
        var out: [(worker: Int, holder: LeaseHolder?, value: String, lapsesInMillis: Int64)] = []
        for key in Set(found) {
            let name = String(decoding: key, as: UTF8.self)
            let prefix = "\(keys.namespace):{\(keys.namespace)/"
            guard name.hasPrefix(prefix), let worker = Int(name.dropFirst(prefix.count).prefix { $0 != "}" }) else { continue }
            let replies = try client.pipeline([RedisCommand("GET", name), RedisCommand("PTTL", name)])
            guard let value = replies[0].string else { continue }
            out.append((worker, LeaseHolder(value: value), value, replies[1].int ?? -1))
        }
        return out.sorted { $0.worker < $1.worker }
    }

    /// Throws ``RuntimeError/Code/evictionPolicy`` when the server's `maxmemory-policy`
    /// may evict keys without a TTL (`allkeys-*`): the namespace's state keys would be lost
    /// silently. `noeviction` and `volatile-*` keep them. A server that does not let
    /// `CONFIG GET` through (a managed service) gets a warning on stderr instead.
    public func checkEvictionPolicy() throws {
        let masters = try client.masterEndpoints()
        let reply = try client.send(RedisCommand("CONFIG", "GET", "maxmemory-policy"))
        guard let parts = reply.array, parts.count >= 2, let policy = parts[1].string else {
            stderrLine("onlinecf: warning: cannot read the KV store's maxmemory-policy (\(reply)); make sure it is noeviction or volatile-*, or the state of namespace '\(keys.namespace)' may be evicted")
            return
        }
        if policy.hasPrefix("allkeys-") {
            let servers = masters.count > 1 ? "every node" : "the server"
            throw RuntimeError("the KV store's maxmemory-policy is \(policy): it may evict namespace '\(keys.namespace)''s state (its event log and meta have no TTL), and the lists would silently lose what they were computed from. Set maxmemory-policy to noeviction on \(servers) (CONFIG SET maxmemory-policy noeviction, and in redis.conf), or volatile-lru to let only expiring keys go; with noeviction, a full server makes the job wait, losing nothing.", code: .evictionPolicy)
        }
    }

    /// Runs a SCAN-family command from cursor 0 until the server says 0 again, handing
    /// each batch of elements to `body`.
    private func scan(_ command: (String) -> RedisCommand, _ body: ([RESPValue]) throws -> Void) throws {
        var cursor = "0"
        repeat {
            let c = command(cursor)
            let reply = try client.execute(c)
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw RuntimeError("unexpected reply to \(c): \(reply)")
            }
            cursor = next
            try body(parts[1].array ?? [])
        } while cursor != "0"
    }
}
