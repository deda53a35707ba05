import OnlineCFCore
import CRdKafka
import Foundation

/// A Kafka topic read with librdkafka (Debian's `librdkafka-dev`). Each message's value is
/// one input line in the job's format.
///
/// The position is the next offset to read in every partition, `p0=123,p1=456`, committed
/// with the state (`source:kafka:TOPIC` in the worker's meta, in the same `MULTI … EXEC` as
/// the event-log chunk). On open the source assigns itself every partition of the topic
/// (`rd_kafka_assign`, no group rebalancing: the state has to hold all of them; each worker
/// of a shared job reads the whole topic) at those offsets; a partition the committed state
/// holds nothing of is read from its beginning. Kafka's own offsets of the consumer group are committed too (asynchronously,
/// after each state commit) for monitoring and lag tools; they are never read back, so
/// correctness does not depend on them.
///
/// Without `follow` the input ends once every partition has reported its end
/// (`enable.partition.eof`) with nothing delivered after; with `follow` it waits for new
/// messages. Each poll waits at most 200 ms, so SIGTERM and emission intervals are honoured.
///
/// Not `Sendable`: the handle is used only on the job's thread (librdkafka's own threads
/// never call back into this object: no callbacks are registered).
public final class KafkaSource: EventSource {
    public let brokers: String
    public let topic: String
    public let group: String
    public let follow: Bool
    /// Longest a poll waits, in milliseconds.
    public let pollMillis: Int32 = 200

    /// The consumer (`rd_kafka_t *`).
    private let handle: OpaquePointer
    private let shouldStop: () -> Bool
    private var partitions: [Int32] = []
    /// Next offset to read, by partition: the committed ones, updated by every message delivered.
    private var next: [Int32: Int64] = [:]
    /// Lines were delivered since the last commit.
    private var dirty = false
    /// `next` at the last commit of the group's offsets to Kafka.
    private var groupCommitted: [Int32: Int64] = [:]
    /// Partitions that reported their end with nothing delivered after.
    private var atEnd: Set<Int32> = []
    /// A message polled by ``waitReadable(timeoutMillis:)``, delivered by the next read.
    private var held: UnsafeMutablePointer<rd_kafka_message_t>?
    private var ended = false
    private var messages = 0
    /// The last transient error reported, so a broker outage is logged once, not every poll.
    private var lastWarning: rd_kafka_resp_err_t?

    /// Properties the source sets itself; a `kafka:` source may not give them.
    static let reservedProperties: Set<String> = [
        "bootstrap.servers", "metadata.broker.list", "group.id", "enable.auto.commit", "enable.auto.offset.store",
        "enable.partition.eof",
    ]

    /// Creates the consumer; nothing is read before ``open(at:)``.
    public init(brokers: String, topic: String, group: String, config: [String: String] = [:], follow: Bool,
                shouldStop: @escaping () -> Bool = { false }) throws {
        self.brokers = brokers
        self.topic = topic
        self.group = group
        self.follow = follow
        self.shouldStop = shouldStop
        let conf = rd_kafka_conf_new()
        var settings: [(String, String)] = [
            ("bootstrap.servers", brokers), ("group.id", group), ("client.id", "onlinecf"),
            ("enable.auto.commit", "false"), ("enable.auto.offset.store", "false"), ("enable.partition.eof", "true"),
            ("auto.offset.reset", "earliest"), ("log.connection.close", "false"),
        ]
        settings += config.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (name, value) in settings {
            if let problem = Self.set(conf, name, value) {
                rd_kafka_conf_destroy(conf)
                throw RuntimeError("source kafka:\(brokers)/\(topic): \(problem)")
            }
        }
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)
            throw RuntimeError("cannot create a Kafka consumer for kafka:\(brokers)/\(topic): \(Self.text(error))")
        }
        self.handle = handle
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        if let held { rd_kafka_message_destroy(held) }
        // Waits for the group offsets still being committed, then leaves.
        rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }

    /// Sets one property; returns librdkafka's complaint, if any.
    static func set(_ conf: OpaquePointer?, _ name: String, _ value: String) -> String? {
        var error = [CChar](repeating: 0, count: 512)
        guard rd_kafka_conf_set(conf, name, value, &error, error.count) == RD_KAFKA_CONF_OK else {
            return text(error)
        }
        return nil
    }

    /// The text of a NUL-terminated error buffer.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var identity: String? { "kafka:" + topic }

    public var position: String? {
        next.isEmpty ? nil : next.keys.sorted().map { "p\($0)=\(next[$0]!)" }.joined(separator: ",")
    }

    public var needsCommit: Bool { dirty }

    /// Parses `p0=123,p1=456`.
    static func parsePosition(_ text: String) -> [Int32: Int64]? {
        var offsets: [Int32: Int64] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].hasPrefix("p"), let p = Int32(kv[0].dropFirst()), p >= 0,
                  let offset = Int64(kv[1]), offset >= 0 else { return nil }
            offsets[p] = offset
        }
        return offsets
    }

    public func open(at committed: String?) throws -> String? {
        if let committed {
            guard let offsets = Self.parsePosition(committed) else {
                throw RuntimeError("the committed position of source kafka:\(topic) is unreadable: '\(committed)' (expected p0=OFFSET,p1=OFFSET,…)")
            }
            next = offsets
            groupCommitted = offsets
        }
        partitions = try fetchPartitions()
        guard let list = rd_kafka_topic_partition_list_new(Int32(partitions.count)) else {
            throw RuntimeError("out of memory creating a Kafka partition list")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in partitions {
            rd_kafka_topic_partition_list_add(list, topic, p).pointee.offset = next[p] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let error = rd_kafka_assign(handle, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw RuntimeError("cannot assign the partitions of Kafka topic \(topic): \(String(cString: rd_kafka_err2str(error)))")
        }
        let from = partitions.map { p in next[p].map { "p\(p)@\($0)" } ?? "p\(p) from its beginning" }.joined(separator: ", ")
        return (next.isEmpty ? "" : "resumed: ") + "reading kafka topic \(topic) (\(partitions.count) partitions): \(from)"
    }

    /// The topic's partitions, from the brokers' metadata (retried for up to 30 s).
    private func fetchPartitions() throws -> [Int32] {
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
            throw RuntimeError("cannot open Kafka topic \(topic): \(String(cString: rd_kafka_err2str(rd_kafka_last_error())))")
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        let deadline = ContinuousClock.now + .seconds(30)
        var lastError: rd_kafka_resp_err_t
        while true {
            var metadata: UnsafePointer<rd_kafka_metadata_t>?
            let error = rd_kafka_metadata(handle, 0, topicHandle, &metadata, 1000)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
                defer { rd_kafka_metadata_destroy(metadata) }
                guard metadata.pointee.topic_cnt >= 1, let topics = metadata.pointee.topics else {
                    throw RuntimeError("Kafka brokers \(brokers) return no metadata for topic \(topic)")
                }
                let t = topics[0]
                if t.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw RuntimeError("Kafka topic \(topic) on \(brokers): \(String(cString: rd_kafka_err2str(t.err)))")
                }
                guard t.partition_cnt > 0, let ps = t.partitions else {
                    throw RuntimeError("Kafka topic \(topic) on \(brokers) has no partitions")
                }
                return (0..<Int(t.partition_cnt)).map { ps[$0].id }.sorted()
            }
            lastError = error
            if ContinuousClock.now >= deadline || shouldStop() {
                throw RuntimeError("cannot reach Kafka brokers \(brokers) for the metadata of topic \(topic): \(String(cString: rd_kafka_err2str(lastError)))")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    public func waitReadable(timeoutMillis: Int32) -> Bool {
        if held != nil || ended { return true }
        do { held = try poll(timeoutMillis: max(0, min(pollMillis, timeoutMillis))) } catch { return true }  // read() reports it
        return held != nil || ended
    }

    public func read(maxLines: Int, _ body: (SourceLine) -> Void) throws -> SourceStatus {
        var delivered = 0
        // Block (briefly) only when nothing is at hand.
        var timeout = held == nil ? pollMillis : 0
        while delivered < maxLines {
            let message: UnsafeMutablePointer<rd_kafka_message_t>
            if let held {
                message = held
                self.held = nil
            } else {
                if ended { break }
                let before = atEnd.count
                guard let polled = try poll(timeoutMillis: timeout) else {
                    // An end-of-partition event: poll on without waiting.
                    if atEnd.count != before && !ended { timeout = 0; continue }
                    break
                }
                message = polled
            }
            timeout = 0
            deliver(message, body)
            rd_kafka_message_destroy(message)
            delivered += 1
        }
        if delivered == 0 && ended { return .endOfInput }
        return .lines(delivered)
    }

    private func deliver(_ message: UnsafeMutablePointer<rd_kafka_message_t>, _ body: (SourceLine) -> Void) {
        let m = message.pointee
        let partition = m.partition
        next[partition] = m.offset + 1
        atEnd.remove(partition)
        dirty = true
        messages += 1
        var count = m.len
        if let payload = m.payload {
            let bytes = payload.assumingMemoryBound(to: UInt8.self)
            if count > 0 && bytes[count - 1] == 0x0A { count -= 1 }  // a value may end with its newline
            var line = SourceLine(bytes: UnsafeBufferPointer(start: bytes, count: count), number: 0)
            line.kafkaMessage = (topic, partition, m.offset)
            body(line)
        } else {
            var line = SourceLine(bytes: UnsafeBufferPointer(start: nil, count: 0), number: 0)
            line.kafkaMessage = (topic, partition, m.offset)
            line.problem = "Kafka message has no value"
            body(line)
        }
    }

    /// One poll: a message, or nil (timeout, or an event handled here: a partition's end,
    /// a transient error). Throws on errors that retrying cannot mend.
    private func poll(timeoutMillis: Int32) throws -> UnsafeMutablePointer<rd_kafka_message_t>? {
        guard let message = rd_kafka_consumer_poll(handle, Int32(timeoutMillis)) else { return nil }
        let error = message.pointee.err
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            lastWarning = nil
            return message
        }
        defer { rd_kafka_message_destroy(message) }
        let text = String(cString: rd_kafka_message_errstr(message))
        switch error {
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            atEnd.insert(message.pointee.partition)
            if !follow && atEnd.count >= partitions.count && held == nil { ended = true }
        case RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
             RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
             RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET,
             RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR__SSL:
            throw RuntimeError("reading Kafka topic \(topic) from \(brokers) failed: \(text)")
        default:
            // librdkafka retries (a broker down, a leader moving): say so once.
            if lastWarning != error {
                lastWarning = error
                FileHandle.standardError.write(Data("kafka: \(text) (retrying)\n".utf8))
            }
        }
        return nil
    }

    /// Commits the group's offsets to Kafka, asynchronously: for monitoring only (the job
    /// reads its offsets from the state), so a failure changes nothing.
    public func didCommit() throws {
        dirty = false
        guard next != groupCommitted, let list = rd_kafka_topic_partition_list_new(Int32(next.count)) else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (p, offset) in next { rd_kafka_topic_partition_list_add(list, topic, p).pointee.offset = offset }
        _ = rd_kafka_commit(handle, list, 1)
        groupCommitted = next
    }

    /// Sum over the partitions of the high watermark (as of the last fetch) minus the position.
    public var lag: Int64? {
        var total: Int64 = 0, known = false
        for p in partitions {
            var low: Int64 = -1, high: Int64 = -1
            guard rd_kafka_get_watermark_offsets(handle, topic, p, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { continue }
            known = true
            total += max(0, high - max(next[p] ?? low, low))
        }
        return known ? total : nil
    }

    public var report: String? {
        "source: kafka topic \(topic), group \(group): \(messages) messages read; position \(position ?? "none")"
    }
}

extension SourceSpec {
    /// Parses `kafka:BROKERS/TOPIC?group=G[&PROPERTY=VALUE…]`; every extra property is
    /// checked by librdkafka itself.
    static func parseKafka(_ text: String) throws(RuntimeError) -> SourceSpec {
        let usage = "kafka:BROKERS/TOPIC?group=GROUP (e.g. kafka:localhost:9092/events?group=cf)"
        let rest = text.dropFirst("kafka:".count)
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let slash = parts[0].firstIndex(of: "/") else { throw RuntimeError("'\(text)' names no topic: \(usage)") }
        let brokers = String(parts[0][..<slash]), topic = String(parts[0][slash...].dropFirst())
        if brokers.isEmpty { throw RuntimeError("'\(text)' names no brokers: \(usage)") }
        if topic.isEmpty { throw RuntimeError("'\(text)' names no topic: \(usage)") }
        let legal = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if topic.count > 249 || !topic.allSatisfy(legal.contains) || topic == "." || topic == ".." {
            throw RuntimeError("'\(topic)' is not a Kafka topic name (letters, digits, '.', '_' and '-', at most 249)")
        }
        var group: String?
        var config: [String: String] = [:]
        let conf = rd_kafka_conf_new()
        defer { rd_kafka_conf_destroy(conf) }
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(kv[0])
                let value = kv.count == 2 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                if name == "group" {
                    if value.isEmpty { throw RuntimeError("'\(text)': group= needs a name") }
                    group = value
                    continue
                }
                if KafkaSource.reservedProperties.contains(name) {
                    throw RuntimeError("'\(text)': '\(name)' is set by onlinecf (brokers and group come from the source; offsets are committed with the state)")
                }
                if kv.count != 2 || value.isEmpty { throw RuntimeError("'\(text)': '\(name)' needs a value (\(name)=VALUE)") }
                if let problem = KafkaSource.set(conf, name, value) { throw RuntimeError("'\(text)': \(problem)") }
                config[name] = value
            }
        }
        guard let group else { throw RuntimeError("'\(text)' names no consumer group: kafka:\(brokers)/\(topic)?group=GROUP") }
        return .kafka(brokers: brokers, topic: topic, group: group, config: config)
    }
}
