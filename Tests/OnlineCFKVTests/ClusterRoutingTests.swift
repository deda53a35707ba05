import Testing
@testable import OnlineCFKV

/// Pure tests of the cluster routing pieces: no server involved.
@Suite struct ClusterRoutingTests {
    // MARK: HashSlot

    @Test func crc16MatchesTheRedisReferenceVector() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.crc16([UInt8]()) == 0)
    }

    @Test func knownSlots() {
        #expect(HashSlot(key: "foo").rawValue == 12182)
        #expect(HashSlot(key: "bar").rawValue == 5061)
        #expect(HashSlot(key: Array("foo".utf8)).rawValue == 12182)
        #expect(HashSlot(key: "").rawValue == 0)
    }

    @Test func hashTags() {
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "{user1000}.followers"))
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "user1000"))
        // An empty tag hashes the whole key.
        #expect(HashSlot(key: "foo{}{bar}").rawValue == Int(HashSlot.crc16(Array("foo{}{bar}".utf8)) % 16384))
        #expect(HashSlot(key: "foo{}{bar}") != HashSlot(key: "bar"))
        #expect(HashSlot(key: "foo{{bar}}zap") == HashSlot(key: "{bar"))
        #expect(HashSlot(key: "foo{bar}{zap}") == HashSlot(key: "bar"))
        // No closing brace: whole key.
        #expect(HashSlot(key: "foo{bar").rawValue == Int(HashSlot.crc16(Array("foo{bar".utf8)) % 16384))
        #expect(Array(HashSlot.hashedPart(of: Array("a{b}c".utf8))) == Array("b".utf8))
        #expect(HashSlot(rawValue: 16384) == nil && HashSlot(rawValue: 16383) != nil)
    }

    // MARK: CommandKeys

    private func keys(_ parts: String...) -> [Int] {
        CommandKeys(RedisCommand(arguments: parts.map { Array($0.utf8) })).positions
    }

    @Test func keyPositions() {
        #expect(keys("GET", "k") == [1])
        #expect(keys("zadd", "k", "1", "m") == [1])
        #expect(keys("PING") == [])
        for keyless in ["INFO", "MULTI", "EXEC", "SCAN", "DBSIZE", "FLUSHALL", "CONFIG", "CLUSTER", "CLIENT", "SELECT", "WAIT", "SCRIPT", "FUNCTION", "ASKING"] {
            #expect(keys(keyless, "x", "y") == [], "\(keyless)")
        }
        #expect(keys("MEMORY", "STATS") == [])
        #expect(keys("MEMORY", "USAGE", "k") == [2])
        #expect(keys("OBJECT", "ENCODING", "k") == [2])
        #expect(keys("XGROUP", "CREATE", "s", "g", "$") == [2])
        #expect(keys("XINFO", "STREAM", "s") == [2])
        #expect(keys("XINFO", "HELP") == [])
        #expect(keys("XREAD", "COUNT", "10", "STREAMS", "a", "b", "0", "0") == [4, 5])
        #expect(keys("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "streams", "s", ">") == [7])
        #expect(keys("EVAL", "return 1", "2", "a", "b", "x") == [3, 4])
        #expect(keys("EVALSHA", "abc", "0", "x") == [])
        #expect(keys("FCALL", "f", "1", "k") == [3])
        #expect(keys("DEL", "a", "b", "c") == [1, 2, 3])
        #expect(keys("MGET", "a", "b") == [1, 2])
        #expect(CommandKeys(RedisCommand("EXISTS", "a")).split == .sumIntegers)
        #expect(CommandKeys(RedisCommand("MGET", "a")).split == .mergeArrays)
        #expect(CommandKeys(RedisCommand("SUNIONSTORE", "a", "b")).split == nil)
    }

    // MARK: ClusterSlotMap

    private func node(_ host: String, _ port: Int64) -> RESPValue {
        .array([.bulkString(Array(host.utf8)), .integer(port), .bulkString(Array("id".utf8))])
    }

    @Test func slotMapFromClusterSlots() throws {
        let reply = RESPValue.array([
            .array([.integer(0), .integer(5460), node("10.0.0.1", 7000), node("10.0.0.4", 7003)]),
            .array([.integer(5461), .integer(10922), node("", 7001)]),
            .array([.integer(10923), .integer(16383), node("redis-3.example", 7002)]),
        ])
        let seed = RedisEndpoint.tcp(host: "seed.example", port: 7001, user: "u", password: "p")
        let map = try ClusterSlotMap(clusterSlotsReply: reply, seed: seed)
        #expect(map.coversAllSlots)
        #expect(map.masters.map(\.displayName) == ["10.0.0.1:7000", "seed.example:7001", "redis-3.example:7002"])
        #expect(map.masters.allSatisfy { $0.user == "u" && $0.password == "p" })
        #expect(map.master(for: HashSlot(rawValue: 5460)!)?.displayName == "10.0.0.1:7000")
        #expect(map.master(for: HashSlot(key: "foo"))?.displayName == "redis-3.example:7002")
        #expect(map.ranges.map(\.slots) == [0...5460, 5461...10922, 10923...16383])

        var moved = map
        moved.assign(HashSlot(rawValue: 0)!, to: .tcp(host: "10.0.0.9", port: 1))
        #expect(moved.master(for: HashSlot(rawValue: 0)!)?.displayName == "10.0.0.9:1")
        #expect(moved != map)
        #expect(moved.ranges.count == 4)

        let partial = try ClusterSlotMap(clusterSlotsReply: .array([.array([.integer(0), .integer(10), node("h", 1)])]), seed: seed)
        #expect(!partial.coversAllSlots)
        #expect(partial.master(for: HashSlot(rawValue: 11)!) == nil)
        #expect(throws: KVError.self) { try ClusterSlotMap(clusterSlotsReply: .array([.integer(1)]), seed: seed) }
        #expect(throws: KVError.self) { try ClusterSlotMap(clusterSlotsReply: .error("ERR This instance has cluster support disabled"), seed: seed) }
    }

    // MARK: ClusterRedirect

    @Test func redirectParsing() {
        #expect(ClusterRedirect(errorMessage: "MOVED 3999 127.0.0.1:6381") == .moved(slot: HashSlot(rawValue: 3999)!, host: "127.0.0.1", port: 6381))
        #expect(ClusterRedirect(errorMessage: "ASK 3999 ::1:6381") == .ask(slot: HashSlot(rawValue: 3999)!, host: "::1", port: 6381))
        #expect(ClusterRedirect(errorMessage: "MOVED 1 :7000") == .moved(slot: HashSlot(rawValue: 1)!, host: "", port: 7000))
        #expect(ClusterRedirect(errorMessage: "TRYAGAIN Multiple keys request during rehashing of slot") == .tryAgain)
        #expect(ClusterRedirect(errorMessage: "ERR wrong number of arguments") == nil)
        #expect(ClusterRedirect(errorMessage: "MOVED garbage") == nil)

        let moved = RESPValue.error("MOVED 5 127.0.0.1:1")
        #expect(ClusterRedirect(replies: [moved], transaction: false) != nil)
        #expect(ClusterRedirect(replies: [.simpleString("OK")], transaction: false) == nil)
        let aborted: [RESPValue] = [.simpleString("OK"), moved, .error("EXECABORT Transaction discarded because of previous errors.")]
        #expect(ClusterRedirect(replies: aborted[...], transaction: true) == .moved(slot: HashSlot(rawValue: 5)!, host: "127.0.0.1", port: 1))
        #expect(ClusterRedirect(replies: aborted[...], transaction: false) == nil)
        let otherAbort: [RESPValue] = [.simpleString("OK"), .error("ERR unknown command"), .error("EXECABORT Transaction discarded")]
        #expect(ClusterRedirect(replies: otherAbort[...], transaction: true) == nil)
    }

    // MARK: ClusterPipelinePlan

    /// A map with three nodes: slots < 5461 → "A", < 10923 → "B", else "C"; keyless → "A".
    private func node(for slot: HashSlot?) -> String {
        guard let slot else { return "A" }
        return slot.rawValue < 5461 ? "A" : slot.rawValue < 10923 ? "B" : "C"
    }

    @Test func plainCommandsAreGroupedPerNodeInOrder() throws {
        // slots: foo 12182 (C), bar 5061 (A), hello 866 (A), a 15495 (C), b 3300 (A)
        let commands = [
            RedisCommand("SET", "foo", "1"), RedisCommand("GET", "bar"), RedisCommand("PING"),
            RedisCommand("GET", "foo"), RedisCommand("INCR", "hello"),
        ]
        let plan = try ClusterPipelinePlan(commands)
        #expect(plan.units.count == 5)
        let batches = plan.batches(node: node(for:))
        #expect(batches.map(\.node) == ["C", "A"])
        #expect(batches.map(\.units) == [[0, 3], [1, 2, 4]])
        #expect(plan.commands(of: [0, 3]).map(\.description) == ["SET foo", "GET foo"])
        let replies = plan.assemble([[.simpleString("OK")], [.null], [.simpleString("PONG")], [.bulkString([49])], [.integer(1)]])
        #expect(replies == [.simpleString("OK"), .null, .simpleString("PONG"), .bulkString([49]), .integer(1)])
    }

    @Test func transactionIsOneUnitInOneSlot() throws {
        let commands = [
            RedisCommand("GET", "x"),
            RedisCommand("MULTI"), RedisCommand("DEL", "{u1}:a"), RedisCommand("ZADD", "{u1}:b", 1, "m"), RedisCommand("EXEC"),
            RedisCommand("GET", "y"),
        ]
        let plan = try ClusterPipelinePlan(commands)
        #expect(plan.units.count == 3)
        #expect(plan.units[1].isTransaction)
        #expect(plan.units[1].commands.count == 4)
        #expect(plan.units[1].slot == HashSlot(key: "u1"))
        #expect(plan.sources[1...4] == [.reply(unit: 1, offset: 0), .reply(unit: 1, offset: 1), .reply(unit: 1, offset: 2), .reply(unit: 1, offset: 3)])
        #expect(plan.sources[5] == .reply(unit: 2, offset: 0))
        let exec = RESPValue.array([.integer(0), .integer(1)])
        let replies = plan.assemble([[.null], [.simpleString("OK"), .simpleString("QUEUED"), .simpleString("QUEUED"), exec], [.null]])
        #expect(replies == [.null, .simpleString("OK"), .simpleString("QUEUED"), .simpleString("QUEUED"), exec, .null])

        // A keyless transaction goes anywhere; an unterminated one takes the rest.
        let keyless = try ClusterPipelinePlan([RedisCommand("MULTI"), RedisCommand("PING"), RedisCommand("EXEC")])
        #expect(keyless.units.count == 1 && keyless.units[0].slot == nil)
        let open = try ClusterPipelinePlan([RedisCommand("MULTI"), RedisCommand("GET", "a"), RedisCommand("GET", "a")])
        #expect(open.units.count == 1 && open.units[0].commands.count == 3)
    }

    @Test func crossSlotTransactionIsRefused() throws {
        let commands = [RedisCommand("MULTI"), RedisCommand("SET", "foo", "1"), RedisCommand("SET", "bar", "2"), RedisCommand("EXEC")]
        do {
            _ = try ClusterPipelinePlan(commands)
            Issue.record("expected CROSSSLOT")
        } catch {
            #expect(error.code == .serverError)
            #expect(error.message.hasPrefix("CROSSSLOT"))
            #expect(error.message.contains("12182") && error.message.contains("5061"))
            #expect(error.message.contains("hash tag"))
        }
    }

    @Test func crossSlotDeleteIsSplitAndSummed() throws {
        // foo → C, bar → A, {foo}x → C (same slot as foo)
        let plan = try ClusterPipelinePlan([RedisCommand("DEL", "foo", "bar", "{foo}x"), RedisCommand("EXISTS", "bar", "bar")])
        #expect(plan.units.count == 3)
        #expect(plan.units[0].commands[0].arguments == [Array("DEL".utf8), Array("foo".utf8), Array("{foo}x".utf8)])
        #expect(plan.units[1].commands[0].arguments == [Array("DEL".utf8), Array("bar".utf8)])
        #expect(plan.sources == [.sum(units: [0, 1]), .reply(unit: 2, offset: 0)])
        let split = try ClusterPipelinePlan([RedisCommand("DEL", "foo", "bar", "{foo}x")])
        #expect(split.assemble([[.integer(2)], [.integer(1)]]) == [.integer(3)])
        #expect(split.assemble([[.integer(2)], [.error("ERR boom")]]) == [.error("ERR boom")])
        // Same-slot multi-key commands stay whole.
        let whole = try ClusterPipelinePlan([RedisCommand("DEL", "{t}a", "{t}b")])
        #expect(whole.units.count == 1 && whole.sources == [.reply(unit: 0, offset: 0)])
    }

    @Test func crossSlotMGetIsSplitAndReassembledInKeyOrder() throws {
        // a → C, b → A, c → B (7365), {a}z → C
        let plan = try ClusterPipelinePlan([RedisCommand("MGET", "a", "b", "c", "{a}z")])
        #expect(plan.units.map { $0.commands[0].arguments.count - 1 } == [2, 1, 1])
        #expect(plan.sources == [.merge(units: [0, 1, 2], keyIndices: [[0, 3], [1], [2]], keyCount: 4)])
        let replies = plan.assemble([
            [.array([.bulkString([1]), .bulkString([4])])], [.array([.null])], [.array([.bulkString([3])])],
        ])
        #expect(replies == [.array([.bulkString([1]), .null, .bulkString([3]), .bulkString([4])])])
        let batches = plan.batches(node: node(for:))
        #expect(batches.map(\.node) == ["C", "A", "B"])
    }
}
