import CRdKafka
import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

/// librdkafka's mock Kafka cluster, in the test process (no broker needed): one broker on a
/// localhost port that `onlinecf` subprocesses reach through ``bootstraps``, and a producer.
/// Used by one test at a time, on its thread.
final class MockKafka {
    /// The producer (`rd_kafka_t *`) whose `test.mock.num.brokers` created the cluster.
    private let producer: OpaquePointer
    private let cluster: OpaquePointer
    let bootstraps: String

    init() throws {
        let conf = rd_kafka_conf_new()
        var error = [CChar](repeating: 0, count: 512)
        try #require(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", &error, error.count) == RD_KAFKA_CONF_OK)
        try #require(rd_kafka_conf_set(conf, "log_level", "4", &error, error.count) == RD_KAFKA_CONF_OK)  // no MOCK notice
        producer = try #require(rd_kafka_new(RD_KAFKA_PRODUCER, conf, &error, error.count))
        cluster = try #require(rd_kafka_handle_mock_cluster(producer))
        bootstraps = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit { rd_kafka_destroy(producer) }

    func createTopic(_ topic: String, partitions: Int32) throws {
        try #require(rd_kafka_mock_topic_create(cluster, topic, partitions, 1) == RD_KAFKA_RESP_ERR_NO_ERROR)
    }

    /// Produces each message (`value` nil: a message without a value) and waits until all
    /// are written. Messages with the same key go to the same partition.
    func produce(_ topic: String, _ messages: [(key: String, value: String?)]) throws {
        let handle = try #require(rd_kafka_topic_new(producer, topic, nil))
        defer { rd_kafka_topic_destroy(handle) }
        for (key, value) in messages {
            var keyBytes = Array(key.utf8)
            var valueBytes = value.map { Array($0.utf8) }
            while true {
                let error = keyBytes.withUnsafeMutableBytes { k in
                    if valueBytes == nil {
                        return rd_kafka_produce(handle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                                nil, 0, k.baseAddress, k.count, nil)
                    }
                    return valueBytes!.withUnsafeMutableBytes { v in
                        rd_kafka_produce(handle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                         v.baseAddress, v.count, k.baseAddress, k.count, nil)
                    }
                }
                if error == 0 { break }
                rd_kafka_poll(producer, 10)  // queue full: let it drain
            }
        }
        try #require(rd_kafka_flush(producer, 20_000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    }

    /// The offsets Kafka holds for `group` (−1001: none), by partition.
    func committedOffsets(group: String, topic: String, partitions: Int32) throws -> [Int32: Int64] {
        let conf = rd_kafka_conf_new()
        var error = [CChar](repeating: 0, count: 512)
        for (name, value) in [("bootstrap.servers", bootstraps), ("group.id", group), ("log_level", "4")] {
            try #require(rd_kafka_conf_set(conf, name, value, &error, error.count) == RD_KAFKA_CONF_OK)
        }
        let consumer = try #require(rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count))
        defer { rd_kafka_destroy(consumer) }
        let list = try #require(rd_kafka_topic_partition_list_new(partitions))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, p) }
        try #require(rd_kafka_committed(consumer, list, 10_000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        var offsets: [Int32: Int64] = [:]
        for i in 0..<Int(list.pointee.cnt) { offsets[list.pointee.elems[i].partition] = list.pointee.elems[i].offset }
        return offsets
    }

    /// The high watermark of every partition: messages in it, for a topic never compacted.
    func highWatermarks(_ topic: String, partitions: Int32) throws -> [Int32: Int64] {
        var marks: [Int32: Int64] = [:]
        for p in 0..<partitions {
            var low: Int64 = 0, high: Int64 = 0
            try #require(rd_kafka_query_watermark_offsets(producer, topic, p, &low, &high, 10_000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            marks[p] = high
        }
        return marks
    }
}

/// `run --source kafka:BROKERS/TOPIC?group=G`: offsets committed with the state, a restart
/// resumes exactly there, malformed messages, `--follow`, and the validation of the source.
@Suite(.serialized) struct KafkaSourceTests {
    /// The generated events as Kafka messages keyed by user, so a user's events stay in one
    /// partition (in their order).
    static func messages(_ count: Int, seed: UInt64) throws -> [(key: String, value: String?)] {
        let bytes = try generatedEvents(count, users: 400, items: 600, seed: seed)
        return bytes.split(separator: 0x0A).map { line in
            let text = String(decoding: line, as: UTF8.self)
            let user = text.firstMatch(of: #/"user":"([^"]*)"/#).map { String($0.1) } ?? ""
            return (user, text)
        }
    }

    static func metaField(_ redis: TestRedis, _ namespace: String, _ field: String) throws -> String? {
        let client = RedisClient(endpoint: redis.server.endpoint)
        defer { client.close() }
        return try client.execute(RedisCommand("HGET", "\(namespace):{\(namespace)/0}:meta", field)).string
    }

    /// A topic of two partitions, read by a job SIGKILLed ten times at random points and
    /// restarted with the same command: every run resumes at the offsets committed with the
    /// state, so the lists equal an uninterrupted run's (over a second topic with the same
    /// messages, by a second group). The co-occurrence algorithms with `--exact` are compared:
    /// they do not depend on how the partitions' messages interleave. The committed
    /// position holds every partition's end, and so do the group's offsets in Kafka.
    @Test func kafkaSourceKilledTenTimesEqualsAnUninterruptedRun() throws {
        let kafka = try MockKafka()
        let messages = try Self.messages(8_000, seed: 31)
        for topic in ["ev-a", "ev-b"] {
            try kafka.createTopic(topic, partitions: 2)
            try kafka.produce(topic, messages)
        }
        let marks = try kafka.highWatermarks("ev-a", partitions: 2)
        #expect(marks.values.reduce(0, +) == 8_000 && marks.values.allSatisfy { $0 > 1_000 }, "\(marks)")
        let redis = try TestRedis()
        let options = ["--redis", redis.url, "--algos", "cooccurrence", "--exact", "--emit-interval", "100ms", "--no-progress",
                       "--checkpoint-every", "1000"]
        let crashy = ["run", "--namespace", "crashy", "--source", "kafka:\(kafka.bootstraps)/ev-a?group=crashy&fetch.wait.max.ms=20"] + options
        let killed = try SourceTests.killRepeatedly(crashy, times: 10, seed: 21)
        #expect(killed == 10, "killed \(killed) times")
        let last = try onlinecf(crashy)
        #expect(last.stderr.contains("resumed: reading kafka topic ev-a (2 partitions): p0@"), "\(last.stderr)")
        try onlinecf(["run", "--namespace", "calm", "--source", "kafka:\(kafka.bootstraps)/ev-b?group=calm&fetch.wait.max.ms=20"] + options)

        let position = "p0=\(marks[0]!),p1=\(marks[1]!)"
        #expect(try Self.metaField(redis, "crashy", "source:kafka:ev-a") == position)
        #expect(try Self.metaField(redis, "calm", "source:kafka:ev-b") == position)
        #expect(try kafka.committedOffsets(group: "crashy", topic: "ev-a", partitions: 2) == marks)
        for algorithm in Algorithm.allCases where algorithm != .swing {
            let x = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "crashy", "--redis", redis.url]).stdout
            let y = try onlinecf(["export", "--algo", algorithm.rawValue, "--namespace", "calm", "--redis", redis.url]).stdout
            #expect(!y.isEmpty && x == y, "\(algorithm.rawValue) differs after \(killed) kills")
        }
        let again = try onlinecf(crashy)
        #expect(again.stderr.contains("lines read: 0 ") && again.stderr.contains("0 messages read; position \(position)"), "\(again.stderr)")
    }

    /// A malformed message, and one without a value, are reported as topic/partition@offset,
    /// counted and dead-lettered, and their offsets committed with the rest.
    @Test func kafkaMalformedMessagesAreReportedByOffsetAndCommitted() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("bad", partitions: 1)
        try kafka.produce("bad", [("u1", "{\"user\":\"u1\",\"item\":\"i1\"}\n"), ("u1", "not json"), ("u2", nil),
                                  ("u1", "{\"user\":\"u1\",\"item\":\"i2\"}")])
        let redis = try TestRedis()
        let dead = FileManager.default.temporaryDirectory.appendingPathComponent("dead-\(UUID()).txt").path
        defer { try? FileManager.default.removeItem(atPath: dead) }
        let result = try onlinecf(["run", "--redis", redis.url, "--source", "kafka:\(kafka.bootstraps)/bad?group=g", "--algos", "itemcf",
                                   "--dead-letter", dead, "--no-progress"])
        #expect(result.stderr.contains("lines read: 4  events: 2 ") && result.stderr.contains("malformed: 2 "), "\(result.stderr)")
        #expect(result.stderr.contains("message bad/0@1: expected a JSON object"), "\(result.stderr)")
        #expect(result.stderr.contains("message bad/0@2: Kafka message has no value"), "\(result.stderr)")
        #expect(String(decoding: FileManager.default.contents(atPath: dead) ?? Data(), as: UTF8.self) == "not json\n\n")
        #expect(try Self.metaField(redis, "ocf", "source:kafka:bad") == "p0=4")
        let lists = try onlinecf(["export", "--algo", "itemcf:cooccurrence", "--redis", redis.url]).stdout
        #expect(lists == "i1\ti2\t1.0\ni2\ti1\t1.0\n", "\(lists)")
    }

    /// With `--follow` the job waits for new messages, commits their offsets, serves the
    /// lag gauge, and ends with status 0 on SIGTERM.
    @Test func kafkaFollowReadsNewMessagesUntilSIGTERM() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("live", partitions: 2)
        let messages = try Self.messages(600, seed: 32)
        try kafka.produce("live", Array(messages[..<300]))
        let redis = try TestRedis()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--redis", redis.url, "--namespace", "live", "--source", "kafka:\(kafka.bootstraps)/live?group=g",
                             "--follow", "--algos", "itemcf", "--emit-interval", "100ms", "--metrics", "127.0.0.1:0", "--no-progress"]
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var log = ""
        while !log.contains("/metrics\n") {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
        }
        let url = String(try #require(log.split(separator: "\n").first { $0.hasPrefix("metrics: ") }).dropFirst("metrics: ".count))
        func waitForPosition(total: Int64) throws {
            let deadline = Date().addingTimeInterval(20)
            func sum() throws -> Int64 {
                let text = try Self.metaField(redis, "live", "source:kafka:live") ?? ""
                return text.split(separator: ",").compactMap { Int64($0.split(separator: "=").last ?? "") }.reduce(0, +)
            }
            while try sum() < total && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(try sum() == total)
        }
        try waitForPosition(total: 300)
        try kafka.produce("live", Array(messages[300...]))
        try waitForPosition(total: 600)
        var metrics = ""
        try waitUntil("the metrics show every message read and no lag", timeout: .seconds(30)) {
            metrics = try httpGet(url)
            return metrics.contains("onlinecf_source_lag_messages 0") && metrics.contains("onlinecf_lines_read_total 600")
        }
        kill(process.processIdentifier, SIGTERM)
        log += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        #expect(log.contains("lines read: 600 ") && log.contains("600 messages read"), "\(log)")
    }

    @Test func badKafkaSourcesAreRejectedWithTheFieldPath() throws {
        func issues(_ yaml: String) throws -> [JobSpecError.Issue] {
            let spec = try JobFile.parse("version: 1\n" + yaml)
            let error = #expect(throws: JobSpecError.self) { try spec.resolve() }
            return error?.issues ?? []
        }
        func message(_ source: String) throws -> String {
            let found = try issues("source: \"\(source)\"\n")
            #expect(found.count == 1 && found.first?.path == "source" && found.first?.line == 2, "\(found)")
            return found.first?.message ?? ""
        }
        #expect(try message("kafka:events").contains("names no topic"))
        #expect(try message("kafka:/events?group=g").contains("names no brokers"))
        #expect(try message("kafka:localhost:9092/?group=g").contains("names no topic"))
        #expect(try message("kafka:localhost:9092/events").contains("names no consumer group"))
        #expect(try message("kafka:localhost:9092/events?group=").contains("group= needs a name"))
        #expect(try message("kafka:localhost:9092/bad topic?group=g").contains("is not a Kafka topic name"))
        #expect(try message("kafka:localhost:9092/events?group=g&no.such.property=1").contains("No such configuration property"))
        #expect(try message("kafka:localhost:9092/events?group=g&fetch.wait.max.ms=soon").contains("fetch.wait.max.ms"))
        #expect(try message("kafka:localhost:9092/events?group=g&enable.auto.commit=true").contains("is set by onlinecf"))
        #expect(try message("kafka:localhost:9092/events?group=g&client.id").contains("needs a value"))
        let inter = try issues("source: kafka:localhost:9092/events?group=g\nformat: inter\n")
        #expect(inter.first?.path == "columns" && inter.first?.message.contains("no header") == true, "\(inter)")

        let good = try JobFile.parse("version: 1\nsource: kafka:k1:9092,k2:9092/events.v1?group=cf&fetch.wait.max.ms=50&client.id=a%26b\nfollow: true\n").resolve()
        #expect(good.configuration.source == .kafka(brokers: "k1:9092,k2:9092", topic: "events.v1", group: "cf",
                                                    config: ["fetch.wait.max.ms": "50", "client.id": "a&b"]))
        #expect(good.configuration.follow)
    }
}
