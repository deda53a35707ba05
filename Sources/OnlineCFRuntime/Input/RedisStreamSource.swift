import OnlineCFKV

/// A Redis Stream read through a consumer group, on its own connection (a blocking read
/// never stalls the job's commits). Each entry carries one input line, in the job's format,
/// in its field `event`; other fields are ignored.
///
/// Order of reading: it creates the group if missing (`XGROUP CREATE … 0 MKSTREAM`), reads
/// this consumer's own pending entries (`XREADGROUP … STREAMS KEY 0`, delivered to an
/// earlier run and not acknowledged), reclaims the entries that other consumers left
/// pending for at least `minIdle` (`XAUTOCLAIM`), then reads new entries
/// (`XREADGROUP … BLOCK 200 … >`). With `follow` it goes on waiting and reclaims again every
/// `minIdle`; without, the input ends when a read of new entries returns nothing.
///
/// Entries are acknowledged (`XACK`) only in ``didCommit()``, after the state that includes
/// them is committed. Its position is the list of the ids of the entries in the commit
/// (space-separated), so a crash between a commit and its `XACK` loses nothing and counts
/// nothing twice: the restarted job acknowledges those ids first, then re-reads every entry
/// still pending. To keep that list short, the source asks for a commit every 10,000 entries.
public final class RedisStreamSource: EventSource {
    public let key: String
    public let group: String
    public let consumer: String
    public let minIdle: Duration
    public let follow: Bool
    /// Entries per read.
    public let batchSize: Int
    /// Longest a read waits for new entries, in milliseconds (SIGTERM and emissions are
    /// honoured within it).
    public let blockMillis: Int32 = 200

    private let client: RedisClient
    private enum Phase { case own(after: String), claim(cursor: String), new }
    private var phase: Phase = .own(after: "0")
    private var buffer: [(id: String, fields: [RESPValue]?)] = []
    private var next = 0
    /// Entries delivered (or skipped) since the last commit: acknowledged by the next one.
    private var toAck: [String] = []
    private var unacked: Set<String> = []
    private var ended = false
    private var nextClaim = ContinuousClock.now
    private var counts = (own: 0, claimed: 0, new: 0, ackedAtStart: 0, deleted: 0, acked: 0)

    public init(client: RedisClient, key: String, group: String, consumer: String, minIdle: Duration = SourceSpec.defaultMinIdle,
                follow: Bool, batchSize: Int = 10_000) {
        self.client = client
        self.key = key
        self.group = group
        self.consumer = consumer
        self.minIdle = minIdle
        self.follow = follow
        self.batchSize = batchSize
    }

    deinit { client.close() }

    public var identity: String? { "redis-stream:\(key)?group=\(group)" }
    public var position: String? { toAck.joined(separator: " ") }
    public var needsCommit: Bool { !toAck.isEmpty }
    public var wantsCommit: Bool { toAck.count >= 10_000 }

    public func open(at committed: String?) throws -> String? {
        let reply = try client.send(RedisCommand("XGROUP", "CREATE", key, group, "0", "MKSTREAM"))
        if let message = reply.errorMessage, !message.hasPrefix("BUSYGROUP") {
            throw RuntimeError("cannot create consumer group '\(group)' of stream '\(key)': \(message)")
        }
        // The entries of the last commit: their effect is committed, but the job may have
        // stopped before acknowledging them.
        let unacknowledged = try acknowledge(committed.map { $0.split(separator: " ").map(String.init) } ?? [])
        counts.ackedAtStart = unacknowledged
        return "reading stream \(key) as consumer \(consumer) of group \(group)"
            + (unacknowledged > 0 ? "; acknowledged \(unacknowledged) entries that the last commit holds" : "")
    }

    public func waitReadable(timeoutMillis: Int32) -> Bool {
        if next < buffer.count || ended { return true }
        do { try fetch(blockMillis: min(blockMillis, timeoutMillis)) } catch { return true }  // read() reports it
        return next < buffer.count || ended
    }

    public func read(maxLines: Int, _ body: (SourceLine) -> Void) throws -> SourceStatus {
        if next >= buffer.count {
            if ended { return .endOfInput }
            try fetch(blockMillis: blockMillis)
            if next >= buffer.count { return ended ? .endOfInput : .lines(0) }
        }
        var delivered = 0
        while delivered < maxLines && next < buffer.count {
            let (id, fields) = buffer[next]
            next += 1
            toAck.append(id)
            unacked.insert(id)
            guard let fields else { counts.deleted += 1; continue }  // deleted from the stream
            delivered += 1
            var value: [UInt8]?
            var i = 0
            while i + 1 < fields.count {
                if fields[i].bytes == Array("event".utf8) { value = fields[i + 1].bytes }
                i += 2
            }
            let bytes = value ?? Array(stride(from: 0, to: fields.count, by: 1).compactMap { fields[$0].string }.joined(separator: "\t").utf8)
            bytes.withUnsafeBufferPointer { pointer in
                var line = SourceLine(bytes: pointer, number: 0)
                line.entry = id
                if value == nil { line.problem = "stream entry has no 'event' field" }
                body(line)
            }
        }
        if next >= buffer.count { buffer.removeAll(keepingCapacity: true); next = 0 }
        return .lines(delivered)
    }

    public func didCommit() throws {
        _ = try acknowledge(toAck)
        counts.acked += toAck.count
        toAck.removeAll(keepingCapacity: true)
        unacked.removeAll(keepingCapacity: true)
    }

    /// `XACK`s `ids`; returns how many were still pending.
    private func acknowledge(_ ids: [String]) throws -> Int {
        var commands: [RedisCommand] = []
        var start = 0
        while start < ids.count {
            var command = RedisCommand("XACK", key, group)
            for id in ids[start..<min(ids.count, start + 1000)] { command.append(string: id) }
            commands.append(command)
            start += 1000
        }
        guard !commands.isEmpty else { return 0 }
        var acknowledged = 0
        for reply in try client.pipeline(commands) {
            if let message = reply.errorMessage { throw RuntimeError("XACK on stream '\(key)' failed: \(message)") }
            acknowledged += Int(reply.int ?? 0)
        }
        return acknowledged
    }

    /// One read into the (empty) buffer, according to the phase.
    private func fetch(blockMillis: Int32) throws {
        buffer.removeAll(keepingCapacity: true)
        next = 0
        switch phase {
        case .own(let after):
            let entries = try Self.entries(ofReadReply: try execute(RedisCommand(
                "XREADGROUP", "GROUP", group, consumer, "COUNT", batchSize, "STREAMS", key, after)))
            if let lastEntry = entries.last { phase = .own(after: lastEntry.id) } else { phase = .claim(cursor: "0-0") }
            counts.own += entries.count
            buffer = entries
        case .claim(let cursor):
            let reply = try execute(RedisCommand(
                "XAUTOCLAIM", key, group, consumer, Int64(minIdle / .milliseconds(1)), cursor, "COUNT", batchSize))
            guard let parts = reply.array, parts.count >= 2, let nextCursor = parts[0].string else {
                throw RuntimeError("unexpected reply to XAUTOCLAIM on stream '\(key)': \(reply)")
            }
            // Entries this run holds unacknowledged may be claimed back to it: not twice.
            let entries = Self.entries(parts[1]).filter { !unacked.contains($0.id) }
            counts.claimed += entries.count
            buffer = entries
            phase = nextCursor == "0-0" ? .new : .claim(cursor: nextCursor)
            nextClaim = .now + minIdle
        case .new:
            if follow && ContinuousClock.now >= nextClaim {
                phase = .claim(cursor: "0-0")
                return try fetch(blockMillis: blockMillis)
            }
            var command = RedisCommand("XREADGROUP", "GROUP", group, consumer, "COUNT", batchSize)
            if blockMillis > 0 { command.append(string: "BLOCK"); command.append(int: Int(blockMillis)) }
            command.append(string: "STREAMS"); command.append(string: key); command.append(string: ">")
            let entries = try Self.entries(ofReadReply: try execute(command))
            counts.new += entries.count
            buffer = entries
            if entries.isEmpty && !follow { ended = true }
        }
    }

    private func execute(_ command: RedisCommand) throws -> RESPValue {
        do { return try client.execute(command) } catch {
            throw RuntimeError("reading stream '\(key)' (group \(group)) failed: \(error)")
        }
    }

    /// The entries of an XREADGROUP reply (`[[key, [[id, fields], …]]]`, or null).
    private static func entries(ofReadReply reply: RESPValue) throws -> [(id: String, fields: [RESPValue]?)] {
        guard let streams = reply.array else { return [] }
        return streams.flatMap { stream in stream.array.map { $0.count == 2 ? entries($0[1]) : [] } ?? [] }
    }

    /// `[[id, [field, value, …] or null], …]`.
    private static func entries(_ value: RESPValue) -> [(id: String, fields: [RESPValue]?)] {
        (value.array ?? []).compactMap { entry in
            guard let parts = entry.array, let id = parts.first?.string else { return nil }
            return (id, parts.count > 1 ? parts[1].array : nil)
        }
    }

    public var report: String? {
        var text = "source: stream \(key), group \(group), consumer \(consumer): \(counts.new) new entries"
        if counts.own > 0 { text += ", \(counts.own) own pending entries re-read" }
        if counts.claimed > 0 { text += ", \(counts.claimed) reclaimed from other consumers" }
        if counts.ackedAtStart > 0 { text += ", \(counts.ackedAtStart) committed by an earlier run acknowledged at start" }
        if counts.deleted > 0 { text += ", \(counts.deleted) deleted from the stream (acknowledged only)" }
        return text + "; \(counts.acked) acknowledged"
    }
}

