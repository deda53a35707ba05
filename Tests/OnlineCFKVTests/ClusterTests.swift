import Foundation
import Testing
@testable import OnlineCFKV

/// Starts a 3-node cluster, runs `body`, stops the cluster (also when `body` throws).
func withTestCluster<T>(nodeCount: Int = 3, extraArguments: [String] = [], _ body: (RedisClusterProcess) throws -> T) throws -> T {
    let cluster = try RedisClusterProcess.start(nodeCount: nodeCount, extraArguments: extraArguments)
    defer { cluster.stop(save: false) }
    return try body(cluster)
}

/// Client behaviour against a real 3-node Redis Cluster started by `RedisClusterProcess`.
@Suite(.serialized) struct ClusterTests {
    private func admin(_ cluster: RedisClusterProcess, _ index: Int) throws -> RedisConnection {
        try RedisConnection(endpoint: cluster.nodes[index].endpoint)
    }

    @Test func harnessFormsAnEvenCluster() throws {
        try withTestCluster { (cluster: RedisClusterProcess) throws in
            #expect(cluster.nodes.count == 3 && cluster.nodeIDs.count == 3)
            #expect(cluster.url.hasPrefix("redis://127.0.0.1:"))
            #expect(try RedisEndpoint(url: cluster.url, environment: [:]) == cluster.seedEndpoint)
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            #expect(try client.masterEndpoints() == cluster.nodeEndpoints)
            #expect(client.isCluster)
            #expect(cluster.initialNodeIndex(for: HashSlot(key: "foo")) == 2)
        }
    }

    @Test func pipelineAcrossNodesKeepsTheCallersOrder() throws {
        try withTestCluster { (cluster: RedisClusterProcess) throws in
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            let count = 2000
            let sets = try client.pipeline((0..<count).map { RedisCommand("SET", "k:\($0)", "v:\($0)") })
            #expect(sets == Array(repeating: .simpleString("OK"), count: count))
            var mixed: [RedisCommand] = []
            for i in 0..<count {
                mixed.append(RedisCommand("GET", "k:\(i)"))
                if i % 500 == 0 { mixed.append(RedisCommand("PING")) }
            }
            let replies = try client.pipeline(mixed)
            var expected: [RESPValue] = []
            for i in 0..<count {
                expected.append(.bulkString(Array("v:\(i)".utf8)))
                if i % 500 == 0 { expected.append(.simpleString("PONG")) }
            }
            #expect(replies == expected)
            #expect(client.commandsSent == 2 * count + 4)
            // The keys really are spread over the three nodes.
            for index in 0..<3 {
                let size = try admin(cluster, index).execute(RedisCommand("DBSIZE")).int ?? 0
                #expect(size > 400, "node \(index) holds \(size) keys")
            }
            #expect(try client.execute(RedisCommand("GET", "k:7")) == .bulkString(Array("v:7".utf8)))
            #expect(try client.send(RedisCommand("INCR", "k:7")).isError)
            #expect(throws: KVError.self) { try client.execute(RedisCommand("INCR", "k:7")) }
        }
    }

    @Test func transactionsMustStayInOneSlot() throws {
        try withTestCluster { (cluster: RedisClusterProcess) throws in
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            let replies = try client.pipeline([
                RedisCommand("SET", "before", "1"),
                RedisCommand("MULTI"), RedisCommand("SET", "{user42}:a", "x"), RedisCommand("INCR", "{user42}:b"), RedisCommand("EXEC"),
                RedisCommand("MULTI"), RedisCommand("GET", "{user42}:a"), RedisCommand("EXEC"),
            ])
            #expect(replies == [
                .simpleString("OK"),
                .simpleString("OK"), .simpleString("QUEUED"), .simpleString("QUEUED"), .array([.simpleString("OK"), .integer(1)]),
                .simpleString("OK"), .simpleString("QUEUED"), .array([.bulkString(Array("x".utf8))]),
            ])
            do {
                _ = try client.pipeline([RedisCommand("MULTI"), RedisCommand("SET", "foo", "1"), RedisCommand("SET", "bar", "1"), RedisCommand("EXEC")])
                Issue.record("expected CROSSSLOT")
            } catch let error as KVError {
                #expect(error.code == .serverError)
                #expect(error.message.contains("CROSSSLOT") && error.message.contains("hash tag"))
                #expect(error.message.contains("12182") && error.message.contains("5061"))
            }
            #expect(try client.execute(RedisCommand("EXISTS", "foo", "bar")) == .integer(0))
        }
    }

    @Test func multiKeyCommandsAcrossSlotsAreSplit() throws {
        try withTestCluster { (cluster: RedisClusterProcess) throws in
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            let keys = ["a", "b", "c", "foo", "bar", "{a}2"]
            _ = try client.pipeline(keys.map { RedisCommand("SET", $0, "v" + $0) })
            let replies = try client.pipeline([
                RedisCommand("MGET", "a", "b", "missing", "c", "{a}2"),
                RedisCommand("EXISTS", "a", "b", "a", "missing"),
                RedisCommand("TOUCH", "a", "foo"),
                RedisCommand("DEL", "a", "b", "c", "missing", "{a}2"),
                RedisCommand("UNLINK", "foo", "bar"),
                RedisCommand("EXISTS", "a", "foo"),
            ])
            #expect(replies == [
                .array([.bulkString(Array("va".utf8)), .bulkString(Array("vb".utf8)), .null, .bulkString(Array("vc".utf8)), .bulkString(Array("v{a}2".utf8))]),
                .integer(3), .integer(2), .integer(4), .integer(2), .integer(0),
            ])
        }
    }

    @Test func scanKeysCoversEveryMaster() throws {
        try withTestCluster { (cluster: RedisClusterProcess) throws in
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            let expected = Set((0..<500).map { "scan:\($0)" })
            _ = try client.pipeline(expected.map { RedisCommand("SET", $0, "1") } + [RedisCommand("SET", "other", "1")])
            var found = Set<String>()
            var batches = 0
            try client.scanKeys(matching: "scan:*", count: 100) { keys in
                batches += 1
                for key in keys { found.insert(String(decoding: key, as: UTF8.self)) }
            }
            #expect(found == expected)
            #expect(batches >= 3)
            struct Stop: Error {}
            #expect(throws: Stop.self) { try client.scanKeys(matching: "*") { _ in throw Stop() } }
        }
        // Single server: the same API.
        try withTestServer { (server: RedisServerProcess) throws in
            let client = RedisClient(endpoint: server.endpoint, log: { _ in })
            _ = try client.pipeline((0..<50).map { RedisCommand("SET", "s:\($0)", "1") })
            var found = 0
            try client.scanKeys(matching: "s:*") { found += $0.count }
            #expect(found == 50)
            #expect(!client.isCluster)
            #expect(try client.masterEndpoints() == [server.endpoint])
        }
    }

    /// Moves `slot` (with its keys) from node `source` to node `target` the way
    /// `redis-cli --cluster reshard` does; with `finish: false` it stops half-way
    /// (slot MIGRATING on the source, IMPORTING on the target, keys already moved).
    private func migrate(_ cluster: RedisClusterProcess, slot: HashSlot, keys: [String], from source: Int, to target: Int, finish: Bool) throws {
        let sourceAdmin = try admin(cluster, source)
        let targetAdmin = try admin(cluster, target)
        try targetAdmin.execute(RedisCommand("CLUSTER", "SETSLOT", slot.rawValue, "IMPORTING", cluster.nodeIDs[source]))
        try sourceAdmin.execute(RedisCommand("CLUSTER", "SETSLOT", slot.rawValue, "MIGRATING", cluster.nodeIDs[target]))
        guard case .tcp(_, let targetPort) = cluster.nodeEndpoints[target].address else { return }
        var migrate = RedisCommand("MIGRATE", "127.0.0.1", targetPort, "", 0, 5000, "KEYS")
        for key in keys { migrate.append(string: key) }
        try sourceAdmin.execute(migrate)
        guard finish else { return }
        for index in cluster.nodes.indices {
            try admin(cluster, index).execute(RedisCommand("CLUSTER", "SETSLOT", slot.rawValue, "NODE", cluster.nodeIDs[target]))
        }
    }

    @Test func movedSlotIsFollowedWithAStaleMap() throws {
        try withTestCluster { (cluster: RedisClusterProcess) throws in
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            let slot = HashSlot(key: "foo")
            #expect(try client.pipeline([RedisCommand("SET", "foo", "1"), RedisCommand("SET", "{foo}2", "2"), RedisCommand("SET", "bar", "3")])
                    == Array(repeating: .simpleString("OK"), count: 3))
            try migrate(cluster, slot: slot, keys: ["foo", "{foo}2"], from: 2, to: 0, finish: true)
            #expect(try client.execute(RedisCommand("GET", "foo")) == .bulkString(Array("1".utf8)))
            #expect(client.redirectionsFollowed.moved == 1)
            #expect(try client.masterEndpoints() == cluster.nodeEndpoints)
            let replies = try client.pipeline([
                RedisCommand("SET", "foo", "10"), RedisCommand("GET", "bar"),
                RedisCommand("MULTI"), RedisCommand("INCR", "{foo}2"), RedisCommand("EXEC"),
                RedisCommand("MGET", "foo", "bar", "{foo}2"),
            ])
            #expect(replies == [
                .simpleString("OK"), .bulkString(Array("3".utf8)),
                .simpleString("OK"), .simpleString("QUEUED"), .array([.integer(3)]),
                .array([.bulkString(Array("10".utf8)), .bulkString(Array("3".utf8)), .bulkString(Array("3".utf8))]),
            ])
            // The data really lives on node 0 now.
            #expect(try admin(cluster, 0).execute(RedisCommand("GET", "foo")) == .bulkString(Array("10".utf8)))
            // A second client whose map is stale inside a transaction unit also recovers.
            let other = RedisClient(endpoint: cluster.nodeEndpoints[1], log: { _ in })
            try other.connect()
            try migrate(cluster, slot: slot, keys: ["foo", "{foo}2"], from: 0, to: 1, finish: true)
            let moved = try other.pipeline([RedisCommand("MULTI"), RedisCommand("GET", "foo"), RedisCommand("EXEC")])
            #expect(moved.last == .array([.bulkString(Array("10".utf8))]))
            #expect(other.redirectionsFollowed.moved == 1)
            #expect(client.redirectionsFollowed.moved == 1)
        }
    }

    @Test func askDuringMigrationReadsTheMovedKey() throws {
        try withTestCluster { (cluster: RedisClusterProcess) throws in
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            let slot = HashSlot(key: "bar")
            #expect(cluster.initialNodeIndex(for: slot) == 0)
            _ = try client.pipeline([RedisCommand("SET", "bar", "moved"), RedisCommand("SET", "{bar}stay", "here")])
            try migrate(cluster, slot: slot, keys: ["bar"], from: 0, to: 1, finish: false)
            #expect(try client.execute(RedisCommand("GET", "bar")) == .bulkString(Array("moved".utf8)))
            #expect(client.redirectionsFollowed.ask == 1)
            #expect(try client.execute(RedisCommand("GET", "{bar}stay")) == .bulkString(Array("here".utf8)))
            #expect(client.redirectionsFollowed.ask == 1)
            let replies = try client.pipeline([
                RedisCommand("GET", "bar"), RedisCommand("GET", "{bar}stay"),
                RedisCommand("MULTI"), RedisCommand("GET", "bar"), RedisCommand("EXEC"),
            ])
            #expect(replies == [
                .bulkString(Array("moved".utf8)), .bulkString(Array("here".utf8)),
                .simpleString("OK"), .simpleString("QUEUED"), .array([.bulkString(Array("moved".utf8))]),
            ])
            #expect(client.redirectionsFollowed.ask == 3)
            #expect(client.redirectionsFollowed.moved == 0)
            // The map was not changed by ASK: the slot still routes to node 0 first.
            #expect(try admin(cluster, 0).execute(RedisCommand("GET", "{bar}stay")) == .bulkString(Array("here".utf8)))
        }
    }

    @Test func moveReplyOnAServerWithoutInfoSwitchesToClusterMode() throws {
        try withTestCluster(extraArguments: ["--rename-command", "INFO", ""]) { (cluster: RedisClusterProcess) throws in
            let client = RedisClient(endpoint: cluster.seedEndpoint, log: { _ in })
            // "foo" lives on node 2, the seed is node 0: the first reply is MOVED.
            #expect(try client.execute(RedisCommand("SET", "foo", "1")) == .simpleString("OK"))
            #expect(client.isCluster)
            #expect(try client.pipeline([RedisCommand("GET", "foo"), RedisCommand("GET", "bar")]) == [.bulkString(Array("1".utf8)), .null])
        }
    }

    @Test func nodeRestartIsRetriedAndLoggedOnce() throws {
        let directory = makeTemporaryDirectory("clre")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try RedisClusterProcess.start(directory: directory, persistence: true)
        let log = LogRecorder()
        let client = RedisClient(endpoint: cluster.seedEndpoint, retry: RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(200), maxElapsed: .seconds(20)), log: log.sink)
        #expect(try client.execute(RedisCommand("SET", "foo", "1")) == .simpleString("OK"))
        cluster.stop(save: true)
        let restarted = try RedisClusterProcess.start(directory: directory, persistence: true)
        defer { restarted.stop(save: false) }
        #expect(restarted.nodeEndpoints == cluster.nodeEndpoints)
        #expect(try client.execute(RedisCommand("GET", "foo")) == .bulkString(Array("1".utf8)))
        let lines = log.all
        #expect(lines.filter { $0.contains("unreachable") }.count <= 1, "\(lines)")
    }
}
