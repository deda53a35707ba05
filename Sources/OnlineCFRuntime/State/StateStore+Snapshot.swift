import Foundation
import OnlineCFCore
import OnlineCFKV

/// Snapshots: a worker's state as of a log chunk, so that a start loads it and replays
/// only the log after it, and the log it covers is deleted (see docs/state.md,
/// "Snapshots").
extension StateStore {
    /// The size of a snapshot chunk (the last one is shorter). Chunks are separate keys on
    /// separate hash slots, so a Redis Cluster shares a large snapshot between its masters,
    /// and no single value comes near `proto-max-bulk-len`.
    public static let snapshotChunkBytes = 1 << 20

    /// Writes this worker's next snapshot — what `encode` writes to a streamed
    /// ``SnapshotEncoder`` (``CFModel/snapshot(into:)`` after committing log chunks
    /// `0..<meta.logChunks`) — and makes it current:
    /// 1. records in the meta (fenced) the id being written, so chunks of a snapshot cut
    ///    short by a crash are found and replaced by the next one;
    /// 2. writes the chunks as the encoder produces them, a few per round trip (the
    ///    snapshot is never whole in memory);
    /// 3. in one fenced, atomic step: records the snapshot in the meta (id, chunks, size,
    ///    checksum, the log chunk and event count it covers) and deletes the log chunks it
    ///    covers;
    /// 4. deletes the previous snapshot's chunks.
    /// A crash before step 3 leaves the previous snapshot and the log current (nothing is
    /// lost); after it, at worst the previous chunks are left behind as garbage.
    /// Returns the snapshot's size in bytes.
    @discardableResult
    /// `shouldGiveUp` ends the chunk writes' retries during a KV outage (a shutdown).
    public func writeSnapshot(meta: inout StateMeta, nowMillis: Int64, shouldGiveUp: @escaping @Sendable () -> Bool = { false },
                              encode: (inout SnapshotEncoder) -> Void) throws -> Int {
        let previous = meta.snapshot
        // A new id, past the current one and past one another process left unfinished (that
        // process may be paused, not dead: its late chunk writes, which no lease fences, must
        // never land on this snapshot's chunks).
        let id = meta.snapshotWriting ?? (max(previous?.id ?? 0, meta.abandonedSnapshot ?? 0) + 1)
        let metaKey = keys.meta(worker: worker)
        if meta.snapshotWriting == nil {
            try writeState([RedisCommand("HSET", metaKey, "snapshot_writing", String(id))], what: "starting snapshot \(id)")
            meta.snapshotWriting = id
        }
        // The encoder hands over each chunk as it fills; a thread of its own sends them,
        // one per round trip on a connection of its own, and sums their checksum, while
        // the model is encoded further (at most ``SnapshotSender/queued`` chunks wait).
        let sender = SnapshotSender(endpoint: client.endpoint, retry: client.retry, shouldGiveUp: shouldGiveUp, keys: keys, worker: worker, id: id)
        var chunks = 0
        var encoder = SnapshotEncoder(chunkSize: Self.snapshotChunkBytes) { chunk in
            // The last, shorter chunk is empty when the size is a multiple of the chunk size.
            if chunk.isEmpty && chunks > 0 { return }
            sender.send(Array(chunk))
            chunks += 1
        }
        encode(&encoder)
        encoder.finish()
        let (checksum, chunkCommands) = try sender.finish()
        sideCommandsSent += chunkCommands
        let size = encoder.count
        // Chunks beyond the last of an earlier, unfinished attempt with this id.
        try deleteSnapshotChunks(id: id, from: chunks, knownCount: nil)

        let record = SnapshotRecord(id: id, chunks: chunks, bytes: size, checksum: checksum,
                                    logChunk: meta.logChunks, events: meta.eventsCommitted, atMillis: nowMillis, workers: meta.workers ?? 1)
        var commands = [RedisCommand("HSET", metaKey, "snapshot", String(id), "snapshot_chunks", String(chunks),
                                     "snapshot_bytes", String(record.bytes), "snapshot_checksum", String(record.checksum),
                                     "snapshot_log_chunk", String(record.logChunk), "snapshot_events", String(record.events),
                                     "snapshot_at_ms", String(nowMillis), "snapshot_workers", String(record.workers)),
                        RedisCommand("HDEL", metaKey, "snapshot_writing")]
        let covered = Array((previous?.logChunk ?? 0)..<record.logChunk)
        for start in stride(from: 0, to: covered.count, by: 1000) {
            var hdel = RedisCommand("HDEL", keys.log(worker: worker))
            for chunk in covered[start..<min(covered.count, start + 1000)] { hdel.append(string: String(chunk)) }
            commands.append(hdel)
        }
        commands.append(RedisCommand("HINCRBY", metaKey, "commits", "1"))
        try writeState(commands, what: "making snapshot \(id) current")
        fence?.expectedCommits += 1
        meta.snapshot = record
        meta.snapshotWriting = nil
        meta.commits += 1
        if let previous, previous.id != id { try deleteSnapshotChunks(id: previous.id, from: 0, knownCount: previous.chunks) }
        if let abandoned = meta.abandonedSnapshot, abandoned != id, abandoned != previous?.id {
            try deleteSnapshotChunks(id: abandoned, from: 0, knownCount: nil)
            meta.abandonedSnapshot = nil
        }
        return size
    }

    /// Deletes chunks `from…` of snapshot `id`: `knownCount` of them, or (nil) up to the
    /// first one that is absent.
    private func deleteSnapshotChunks(id: Int, from: Int, knownCount: Int?) throws {
        var n = from
        while true {
            let end = knownCount.map { min($0, n + 64) } ?? (n + 8)
            guard n < end else { return }
            let replies = try client.pipeline((n..<end).map { RedisCommand("DEL", keys.snapshotChunk(worker: worker, id: id, chunk: $0)) })
            if knownCount == nil, replies.contains(where: { ($0.int ?? 0) == 0 }) { return }
            n = end
        }
    }

    /// Reads the snapshot `record` of a worker (default: this store's) into `decode`,
    /// which gets a streamed ``SnapshotDecoder``, and checks its size and checksum once it
    /// is read. The chunks are fetched a few per round trip by a thread of their own, on
    /// a connection of its own, at most ``SnapshotPrefetcher/ahead`` chunks ahead of the
    /// decoder: reading the KV store and the checksum overlap decoding, and the snapshot
    /// is never whole in memory. `shouldStop` is asked before every chunk: when it answers
    /// true, the read stops and nil is returned.
    public func loadSnapshot<Value>(_ record: SnapshotRecord, worker: Int? = nil, shouldStop: @escaping @Sendable () -> Bool = { false },
                                    decode: (inout SnapshotDecoder) throws(SnapshotError) -> Value) throws -> Value? {
        let owner = worker ?? self.worker
        let keys = self.keys
        let prefetcher = SnapshotPrefetcher(endpoint: client.endpoint, retry: client.retry, shouldStop: shouldStop, keys: keys, worker: owner, record: record)
        defer { prefetcher.stop() }
        var failure: (any Error)?
        var stopped = false
        func next() throws(SnapshotError) -> [UInt8]? {
            if shouldStop() {
                stopped = true
                throw SnapshotError("stopped")
            }
            do {
                return try prefetcher.next()
            } catch {
                failure = error
                throw SnapshotError("\(error)")
            }
        }
        var decoder = SnapshotDecoder(totalBytes: record.bytes, source: next)
        func damaged(_ size: Int) -> RuntimeError { RuntimeError("snapshot \(record.id) of namespace '\(keys.namespace)' (worker \(owner)) does not match its checksum (\(size) bytes read, \(record.bytes) recorded): the state is damaged. 'onlinecf reset' the namespace and backfill it with 'onlinecf batch'") }
        let value: Value
        do {
            value = try decode(&decoder)
        } catch {
            if stopped { return nil }
            if let failure { throw failure }
            // Damage first shows as bytes that do not decode: read the rest to tell a
            // damaged snapshot (checksum) from one this build cannot read.
            while (try? next()) != nil {}
            if let failure { throw failure }
            if stopped { return nil }
            let read = prefetcher.result
            guard read.bytes == record.bytes, read.checksum == record.checksum else { throw damaged(read.bytes) }
            throw RuntimeError("namespace '\(keys.namespace)': \(error)")
        }
        // Every chunk has been handed over (a decoder that ends early leaves some behind).
        guard try prefetcher.next() == nil else { throw damaged(prefetcher.result.bytes) }
        let read = prefetcher.result
        sideCommandsSent += prefetcher.commandsSent
        guard read.chunks == record.chunks, read.bytes == record.bytes, read.checksum == record.checksum else { throw damaged(read.bytes) }
        return value
    }
}

/// Fetches the chunks of a snapshot in order on a thread of its own with its own client,
/// at most ``ahead`` chunks ahead of the reader, and sums their size and checksum as they
/// arrive. ``next()`` hands them over in order; ``stop()`` ends the thread early.
final class SnapshotPrefetcher: @unchecked Sendable {
    // Sendable by hand: every stored `var` is read and written only with `condition`
    // locked (NSCondition is the wait/signal primitive the standard library lacks).
    private let condition = NSCondition()
    private var ready: [[UInt8]] = []
    private var handedOver = 0
    private var finished = false
    private var stopping = false
    private var failure: (any Error)?
    private var read = (chunks: 0, bytes: 0, checksum: UInt64(0))
    private var commands = 0

    /// Chunks fetched ahead of the reader at most (1 MiB each).
    static let ahead = 8

    /// `shouldStop` also ends the fetch's retries during a KV outage.
    init(endpoint: RedisEndpoint, retry: RetryPolicy, shouldStop: @escaping @Sendable () -> Bool, keys: KeySchema, worker: Int, record: SnapshotRecord) {
        let thread = Thread { [self] in
            let client = RedisClient(endpoint: endpoint, retry: retry, log: stderrLine, shouldGiveUp: { [self] in isStopping || shouldStop() })
            var checksum = SnapshotChecksum()
            var fetched = 0, bytes = 0
            while fetched < record.chunks {
                condition.lock()
                while ready.count >= Self.ahead && !stopping { condition.wait() }
                let stop = stopping
                condition.unlock()
                if stop { break }
                let end = min(record.chunks, fetched + 4)
                var chunks: [[UInt8]] = []
                do {
                    let replies = try client.pipeline((fetched..<end).map { RedisCommand("GET", keys.snapshotChunk(worker: worker, id: record.id, chunk: $0)) })
                    for (n, reply) in zip(fetched..<end, replies) {
                        guard let chunk = reply.bytes else {
                            throw RuntimeError("chunk \(n) of snapshot \(record.id) of namespace '\(keys.namespace)' (worker \(worker)) is missing (\(reply)): the state is damaged (was the KV store flushed, or did it evict keys?). 'onlinecf reset' the namespace and backfill it with 'onlinecf batch'")
                        }
                        checksum.update(chunk[...])
                        bytes += chunk.count
                        chunks.append(chunk)
                    }
                } catch {
                    condition.lock()
                    failure = error
                    condition.unlock()
                    break
                }
                fetched = end
                condition.lock()
                ready.append(contentsOf: chunks)
                read = (fetched, bytes, checksum.value)
                condition.broadcast()
                condition.unlock()
            }
            condition.lock()
            commands = client.commandsSent
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "onlinecf snapshot read"
        thread.start()
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// The next chunk, waiting for it; nil after the last. Throws what stopped the fetch.
    func next() throws -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished { condition.wait() }
        if !ready.isEmpty {
            handedOver += 1
            condition.broadcast()
            return ready.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    /// Commands its client sent (known once ``next()`` has returned nil).
    var commandsSent: Int {
        condition.lock()
        defer { condition.unlock() }
        return commands
    }

    /// Chunks, bytes and checksum of what has been fetched so far.
    var result: (chunks: Int, bytes: Int, checksum: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        return read
    }

    /// Ends the fetch (the thread exits after its current round trip).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Sends the chunks of a snapshot being written, in order, on a thread of its own with its
/// own client (one SET per round trip: each chunk is copied into the command and into
/// hiredis's output buffer, so fewer in flight keep the transient memory small), and sums
/// their checksum: the KV store's writes
/// overlap the encoding. ``send(_:)`` waits while ``queued`` chunks are waiting (so the
/// snapshot is never whole in memory); ``finish()`` waits for the last and throws the
/// first failure.
final class SnapshotSender: @unchecked Sendable {
    // Sendable by hand: every stored `var` is read and written only with `condition`
    // locked (NSCondition is the wait/signal primitive the standard library lacks).
    private let condition = NSCondition()
    private var waiting: [[UInt8]] = []
    private var ended = false
    private var done = false
    private var failure: (any Error)?
    private var checksum = UInt64(0)
    private var commands = 0

    /// Chunks waiting to be sent at most (1 MiB each): with the one being sent (and its
    /// copies in the command and hiredis's buffer) and the encoder's, a snapshot holds
    /// about 7 MiB beyond the model.
    static let queued = 3

    init(endpoint: RedisEndpoint, retry: RetryPolicy, shouldGiveUp: @escaping @Sendable () -> Bool, keys: KeySchema, worker: Int, id: Int) {
        let thread = Thread { [self] in
            let client = RedisClient(endpoint: endpoint, retry: retry, log: stderrLine, shouldGiveUp: shouldGiveUp)
            var sum = SnapshotChecksum()
            var sent = 0
            var failed = false
            while true {
                condition.lock()
                while waiting.isEmpty && !ended { condition.wait() }
                if waiting.isEmpty {
                    checksum = sum.value
                    commands = client.commandsSent
                    done = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                let batch = Array(waiting.prefix(1))
                condition.unlock()
                if !failed {
                    var commands: [RedisCommand] = []
                    for chunk in batch {
                        sum.update(chunk[...])
                        var set = RedisCommand("SET", keys.snapshotChunk(worker: worker, id: id, chunk: sent + commands.count))
                        set.append(bytes: chunk)
                        commands.append(set)
                    }
                    do {
                        for (n, reply) in zip(sent..., try client.pipeline(commands)) where reply.string != "OK" {
                            throw RuntimeError("writing chunk \(n) of snapshot \(id) of namespace '\(keys.namespace)' failed: \(reply)")
                        }
                    } catch {
                        failed = true
                        condition.lock()
                        failure = error
                        condition.unlock()
                    }
                }
                sent += batch.count
                condition.lock()
                waiting.removeFirst(batch.count)
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.name = "onlinecf snapshot write"
        thread.start()
    }

    /// Queues the next chunk, waiting while ``queued`` are waiting. After a failure the
    /// chunks are dropped (``finish()`` throws it).
    func send(_ chunk: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        while waiting.count >= Self.queued { condition.wait() }
        waiting.append(chunk)
        condition.broadcast()
    }

    /// Waits until every chunk is sent; returns the checksum of them all and the commands
    /// sent, or throws the first failure.
    func finish() throws -> (checksum: UInt64, commands: Int) {
        condition.lock()
        defer { condition.unlock() }
        ended = true
        condition.broadcast()
        while !done { condition.wait() }
        if let failure { throw failure }
        return (checksum, commands)
    }
}
