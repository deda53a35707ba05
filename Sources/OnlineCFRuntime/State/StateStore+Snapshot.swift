import OnlineCFCore
import OnlineCFKV

/// Snapshots: a worker's state as of a log chunk, so that a start loads it and replays
/// only the log after it, and the log it covers is deleted (see the README's
/// "Snapshots").
extension StateStore {
    /// The size of a snapshot chunk (the last one is shorter). Chunks are separate keys on
    /// separate hash slots, so a Redis Cluster shares a large snapshot between its masters,
    /// and no single value comes near `proto-max-bulk-len`.
    public static let snapshotChunkBytes = 4 << 20

    /// Writes `bytes` (``CFModel/snapshot()`` after committing log chunks
    /// `0..<meta.logChunks`) as this worker's next snapshot and makes it current:
    /// 1. records in the meta (fenced) the id being written, so chunks of a snapshot cut
    ///    short by a crash are found and replaced by the next one;
    /// 2. writes the chunks, a few per round trip;
    /// 3. in one fenced, atomic step: records the snapshot in the meta (id, chunks, size,
    ///    checksum, the log chunk and event count it covers) and deletes the log chunks it
    ///    covers;
    /// 4. deletes the previous snapshot's chunks.
    /// A crash before step 3 leaves the previous snapshot and the log current (nothing is
    /// lost); after it, at worst the previous chunks are left behind as garbage.
    public func writeSnapshot(_ bytes: [UInt8], meta: inout StateMeta, nowMillis: Int64) throws {
        let previous = meta.snapshot
        let id = meta.snapshotWriting ?? ((previous?.id ?? 0) + 1)
        let metaKey = keys.meta(worker: worker)
        if meta.snapshotWriting == nil {
            try writeState([RedisCommand("HSET", metaKey, "snapshot_writing", String(id))], what: "starting snapshot \(id)")
            meta.snapshotWriting = id
        }
        let chunkSize = Self.snapshotChunkBytes
        let chunks = max(1, (bytes.count + chunkSize - 1) / chunkSize)
        var next = 0
        while next < chunks {
            let end = min(chunks, next + 4)
            let commands = (next..<end).map { n in
                var set = RedisCommand("SET", keys.snapshotChunk(worker: worker, id: id, chunk: n))
                set.append(bytes: Array(bytes[(n * chunkSize)..<min(bytes.count, (n + 1) * chunkSize)]))
                return set
            }
            for (n, reply) in zip(next..<end, try client.pipeline(commands)) where reply.string != "OK" {
                throw RuntimeError("writing chunk \(n) of snapshot \(id) of namespace '\(keys.namespace)' failed: \(reply)")
            }
            next = end
        }
        // Chunks beyond the last of an earlier, unfinished attempt with this id.
        try deleteSnapshotChunks(id: id, from: chunks, knownCount: nil)

        let record = SnapshotRecord(id: id, chunks: chunks, bytes: bytes.count, checksum: SnapshotChecksum.of(bytes),
                                    logChunk: meta.logChunks, events: meta.eventsCommitted, atMillis: nowMillis)
        var commands = [RedisCommand("HSET", metaKey, "snapshot", String(id), "snapshot_chunks", String(chunks),
                                     "snapshot_bytes", String(record.bytes), "snapshot_checksum", String(record.checksum),
                                     "snapshot_log_chunk", String(record.logChunk), "snapshot_events", String(record.events),
                                     "snapshot_at_ms", String(nowMillis)),
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

    /// Reads the snapshot `record` of a worker (default: this store's) and checks its size
    /// and checksum. `shouldStop` is asked between round trips: when it answers true, the
    /// read stops and returns nil.
    public func loadSnapshot(_ record: SnapshotRecord, worker: Int? = nil, shouldStop: () -> Bool = { false }) throws -> [UInt8]? {
        let owner = worker ?? self.worker
        var bytes: [UInt8] = []
        bytes.reserveCapacity(record.bytes)
        var next = 0
        while next < record.chunks {
            if shouldStop() { return nil }
            let end = min(record.chunks, next + 4)
            let replies = try client.pipeline((next..<end).map { RedisCommand("GET", keys.snapshotChunk(worker: owner, id: record.id, chunk: $0)) })
            for (n, reply) in zip(next..<end, replies) {
                guard let chunk = reply.bytes else {
                    throw RuntimeError("chunk \(n) of snapshot \(record.id) of namespace '\(keys.namespace)' (worker \(owner)) is missing (\(reply)): the state is damaged (was the KV store flushed, or did it evict keys?). 'onlinecf reset' the namespace and backfill it with 'onlinecf batch'")
                }
                bytes.append(contentsOf: chunk)
            }
            next = end
        }
        guard bytes.count == record.bytes, SnapshotChecksum.of(bytes) == record.checksum else {
            throw RuntimeError("snapshot \(record.id) of namespace '\(keys.namespace)' (worker \(owner)) does not match its checksum (\(bytes.count) bytes read, \(record.bytes) recorded): the state is damaged. 'onlinecf reset' the namespace and backfill it with 'onlinecf batch'")
        }
        return bytes
    }
}
