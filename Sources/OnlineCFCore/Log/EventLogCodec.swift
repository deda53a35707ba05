/// Packs events into compact binary chunks and back: the durable form of the state.
///
/// Chunk format (version 1): the byte `0x01`, then per event the fields user, item,
/// author, action as (LEB128 length, UTF-8 bytes) with length 0 meaning absent for
/// author and action, then the timestamp as LEB128 of `zigzag(ms) + 1`, 0 meaning absent.
/// Guarantees: `decode(encode(events)) == events` for every valid event.
public enum EventLogCodec {
    public static let version: UInt8 = 1

    public static func encode(_ events: [Event]) -> [UInt8] {
        var chunk = EventLogChunk()
        for e in events { chunk.append(e) }
        return chunk.bytes
    }

    /// Appends one event's fields to a chunk's bytes.
    static func append(_ e: Event, to out: inout [UInt8]) {
        appendString(e.user, to: &out)
        appendString(e.item, to: &out)
        appendString(e.author ?? "", to: &out)
        appendString(e.action ?? "", to: &out)
        if let t = e.timestampMillis {
            appendVarint(UInt64(bitPattern: (t << 1) ^ (t >> 63)) &+ 1, to: &out)
        } else {
            appendVarint(0, to: &out)
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(EventLogError) -> [Event] {
        guard let first = bytes.first else { throw EventLogError(message: "empty chunk") }
        guard first == version else { throw EventLogError(message: "chunk version \(first); this build reads version \(version)") }
        var events: [Event] = []
        var p = 1
        func varint() throws(EventLogError) -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard p < bytes.count, shift < 64 else { throw EventLogError(message: "truncated chunk at byte \(p)") }
                let b = bytes[p]; p += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
        }
        func string() throws(EventLogError) -> String {
            let n = Int(try varint())
            guard n <= bytes.count - p else { throw EventLogError(message: "truncated chunk at byte \(p)") }
            defer { p += n }
            return String(decoding: bytes[p..<(p + n)], as: UTF8.self)
        }
        while p < bytes.count {
            let user = try string(), item = try string(), author = try string(), action = try string()
            let t = try varint()
            var ts: Int64? = nil
            if t > 0 { let z = t - 1; ts = Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))) }
            events.append(Event(user: user, item: item, author: author.isEmpty ? nil : author,
                                action: action.isEmpty ? nil : action, timestampMillis: ts))
        }
        return events
    }

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        appendVarint(UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }
}

/// A chunk of the event log that cannot be read.
public struct EventLogError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "event log: \(message)" }
}

/// Events packed as they arrive, to be committed as one log chunk: its bytes are what
/// ``EventLogCodec/encode(_:)`` gives for the same events, about a quarter of the events'
/// own size (a job holds the events of its next commit this way).
public struct EventLogChunk: Sendable {
    public private(set) var bytes: [UInt8] = [EventLogCodec.version]
    /// Events packed.
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ event: Event) {
        EventLogCodec.append(event, to: &bytes)
        count += 1
    }

    /// Empties the chunk, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(EventLogCodec.version)
        count = 0
    }
}
