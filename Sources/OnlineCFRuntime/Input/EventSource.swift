import OnlineCFCore
import OnlineCFKV

/// One input line handed by an ``EventSource`` to the job. The bytes are valid only
/// during the call that delivers them.
public struct SourceLine {
    /// The line without its `\n`; for a stream entry, the value of its `event` field.
    public var bytes: UnsafeBufferPointer<UInt8>
    /// 1-based line number within its file (or within standard input); 0 for a stream entry.
    /// Line 1 starts a new input: the job decodes it with a fresh decoder (its header).
    public var number: Int
    /// The file's name, when the source reads a folder.
    public var file: String? = nil
    /// The stream entry id, for a stream entry.
    public var entry: String? = nil
    /// Where the Kafka message is, for a Kafka message.
    public var kafkaMessage: (topic: String, partition: Int32, offset: Int64)? = nil
    /// True for line 1 of a file read again after a restart only so that the decoder
    /// learns the file's header; its effect is committed, so it is neither counted nor applied.
    public var isHeaderReplay = false
    /// Set when the source already knows the line is malformed (a stream entry without an
    /// `event` field): the job reports it with this reason instead of decoding it.
    public var problem: String? = nil

    public init(bytes: UnsafeBufferPointer<UInt8>, number: Int) {
        self.bytes = bytes
        self.number = number
    }

    /// Where the line is, for reports: `line 12`, `b.tsv line 12`, `entry 1700000000000-0`
    /// or `message events/1@42`.
    public var location: String {
        if let m = kafkaMessage { return "message \(m.topic)/\(m.partition)@\(m.offset)" }
        if let entry { return "entry \(entry)" }
        if let file { return "\(file) line \(number)" }
        return "line \(number)"
    }
}

/// Outcome of one ``EventSource/read(maxLines:_:)`` call.
public enum SourceStatus: Equatable, Sendable {
    /// This many lines were delivered (0: nothing available now; call again later).
    case lines(Int)
    /// The input is over (every line has been delivered).
    case endOfInput
}

/// Where a job's input lines come from: standard input, a file or folder of files, or a
/// Redis Stream. A replayable source keeps a position that the job commits with the event
/// log in one transaction, so after a restart it reads on from exactly where the committed
/// state ends (docs/sources.md has the whole argument).
///
/// Protocol of use, on one thread: ``open(at:)`` once (after the event log was replayed),
/// then ``waitReadable(timeoutMillis:)`` / ``read(maxLines:_:)`` until `.endOfInput`; after
/// each commit of the state that includes every line delivered so far, ``didCommit()``.
public protocol EventSource: AnyObject {
    /// Names the source in the namespace's meta (`source:{identity}` holds its position),
    /// e.g. `file:/data/events` or `redis-stream:events?group=cf`; nil when the source keeps
    /// no position (standard input).
    var identity: String? { get }
    /// Starts reading at `committed`, the position committed by an earlier run (nil: from
    /// the beginning). Returns a sentence saying where reading resumes, for the summary.
    func open(at committed: String?) throws -> String?
    /// Waits up to `timeoutMillis` until ``read(maxLines:_:)`` has lines or the end to
    /// report. Returns false on timeout.
    func waitReadable(timeoutMillis: Int32) -> Bool
    /// Delivers up to `maxLines` lines that are available now (reading at most a bounded
    /// amount, blocking at most briefly).
    func read(maxLines: Int, _ body: (SourceLine) -> Void) throws -> SourceStatus
    /// The position just after the last line delivered (nil for a source without one).
    /// Because the job handles whole lines before committing, this is exactly the point up
    /// to which the committed state reflects the input.
    var position: String? { get }
    /// True when lines were consumed since the last commit, so a commit is due even if
    /// they changed nothing (the position moved; stream entries await acknowledgement).
    var needsCommit: Bool { get }
    /// True when the source wants a commit soon even if no event is pending (many stream
    /// entries are waiting to be acknowledged).
    var wantsCommit: Bool { get }
    /// Called after the state including every line delivered so far has been committed.
    func didCommit() throws
    /// A summary line about what the source did (nil: nothing to add).
    var report: String? { get }
    /// Messages in the source after the position, when the source knows (Kafka: the
    /// partitions' high watermarks minus the position); nil otherwise. Cheap: read every loop turn.
    var lag: Int64? { get }
}

extension EventSource {
    public var needsCommit: Bool { false }
    public var wantsCommit: Bool { false }
    public func didCommit() throws {}
    public var report: String? { nil }
    public var lag: Int64? { nil }
}

/// Where a job reads its input, as given by `--source` or the job file's `source`:
/// `-`/`stdin`, `file:PATH`, `redis-stream:KEY?group=G[&consumer=C][&min-idle=DURATION]` or
/// `kafka:BROKERS/TOPIC?group=G[&PROPERTY=VALUE…]`.
public enum SourceSpec: Sendable, Equatable {
    case stdin
    /// A file, or a folder of files read in byte-wise name order.
    case file(path: String)
    /// A Redis Stream on the job's KV store, read through a consumer group. `consumer` nil:
    /// `onlinecf-{namespace}`, stable across restarts so a restarted job re-reads its own
    /// pending entries.
    case redisStream(key: String, group: String, consumer: String?, minIdle: Duration)
    /// A Kafka topic: every partition, read from the offsets committed with the state.
    /// `brokers` is librdkafka's `bootstrap.servers`; `group` names the consumer group whose
    /// offsets Kafka keeps (for monitoring); `config` holds further librdkafka properties.
    case kafka(brokers: String, topic: String, group: String, config: [String: String])

    public static let defaultMinIdle: Duration = .seconds(60)

    /// Parses the text form; the error says what is wrong and what to write.
    public static func parse(_ text: String) throws(RuntimeError) -> SourceSpec {
        if text == "-" || text == "stdin" { return .stdin }
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst("file:".count))
            if path.isEmpty { throw RuntimeError("'file:' needs a path: file:/path/to/events.jsonl or file:/path/to/folder") }
            return .file(path: path)
        }
        if text.hasPrefix("redis-stream:") {
            let rest = text.dropFirst("redis-stream:".count)
            let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            if key.isEmpty { throw RuntimeError("'\(text)' names no stream key: redis-stream:KEY?group=GROUP") }
            var group: String?, consumer: String?, minIdle = defaultMinIdle
            if parts.count == 2 {
                for pair in parts[1].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let name = String(kv[0]), value = kv.count == 2 ? String(kv[1]) : ""
                    switch name {
                    case "group":
                        if value.isEmpty { throw RuntimeError("'\(text)': group= needs a name") }
                        group = value
                    case "consumer":
                        if value.isEmpty { throw RuntimeError("'\(text)': consumer= needs a name") }
                        consumer = value
                    case "min-idle":
                        guard let d = DurationText.parse(value) else {
                            throw RuntimeError("'\(text)': min-idle '\(value)' is not a duration (examples: 30s, 5m)")
                        }
                        minIdle = d
                    default:
                        throw RuntimeError("'\(text)': unknown parameter '\(name)'; use group, consumer or min-idle")
                    }
                }
            }
            guard let group else {
                throw RuntimeError("'\(text)' names no consumer group: redis-stream:\(key)?group=GROUP")
            }
            return .redisStream(key: key, group: group, consumer: consumer, minIdle: minIdle)
        }
        if text.hasPrefix("kafka:") { return try parseKafka(text) }
        throw RuntimeError("'\(text)' is not a source: use '-' (standard input), file:PATH, redis-stream:KEY?group=GROUP or kafka:BROKERS/TOPIC?group=GROUP")
    }
}

/// Builds the source a job reads.
public enum EventSources {
    /// - Parameters:
    ///   - endpoint: the job's KV store (a stream source opens its own connection to it).
    ///   - namespace: names the default stream consumer.
    ///   - stdinDescriptor: the descriptor standard input means (a batch passes its file).
    public static func make(_ spec: SourceSpec, follow: Bool, endpoint: RedisEndpoint, namespace: String,
                            shutdown: ShutdownSignal, stdinDescriptor: Int32 = 0) throws -> any EventSource {
        switch spec {
        case .stdin:
            return StdinSource(fileDescriptor: stdinDescriptor)
        case .file(let path):
            return try FileSource(path: path, follow: follow, shouldStop: { shutdown.isRequested })
        case .redisStream(let key, let group, let consumer, let minIdle):
            let client = RedisClient(endpoint: endpoint, shouldGiveUp: { shutdown.isRequested })
            return RedisStreamSource(client: client, key: key, group: group, consumer: consumer ?? "onlinecf-\(namespace)",
                                     minIdle: minIdle, follow: follow)
        case .kafka(let brokers, let topic, let group, let config):
            return try KafkaSource(brokers: brokers, topic: topic, group: group, config: config, follow: follow,
                                   shouldStop: { shutdown.isRequested })
        }
    }
}
