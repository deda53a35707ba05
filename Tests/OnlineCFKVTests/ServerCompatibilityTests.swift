import Foundation
import Testing
@testable import OnlineCFKV

/// Core round trips, run against every server in `testServerExecutables`
/// (the default redis-server plus `ONLINECF_TEST_SERVERS`).
@Suite struct ServerCompatibilityTests {
    @Test(arguments: testServerExecutables)
    func ping(executable: String) throws {
        try withTestServer(executable: executable) { server in
            let connection = try RedisConnection(endpoint: server.endpoint)
            #expect(try connection.send(RedisCommand("PING")) == .simpleString("PONG"))
            #expect(try connection.send(RedisCommand("ECHO", "hi")) == .bulkString(Array("hi".utf8)))
            #expect(connection.commandsSent == 2)
        }
    }

    @Test(arguments: testServerExecutables)
    func binarySetGet(executable: String) throws {
        try withTestServer(executable: executable) { server in
            let connection = try RedisConnection(endpoint: server.endpoint)
            var megabyte = [UInt8](repeating: 0, count: 1 << 20)
            for i in megabyte.indices { megabyte[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
            let pairs: [([UInt8], [UInt8])] = [
                ([0x6b, 0x00, 0x31], [0x00, 0x00, 0xff]),
                (Array("key\r\nwith\tcontrol\"'".utf8), Array("value\r\n$3\r\nfoo\r\n\t\"".utf8)),
                (Array("ключ-🔑".utf8), Array("значение-é-😀".utf8)),
                (Array("empty".utf8), []),
                (Array("big".utf8), megabyte),
            ]
            for (key, value) in pairs {
                #expect(try connection.execute(RedisCommand("SET", key, value)) == .simpleString("OK"))
            }
            for (key, value) in pairs {
                #expect(try connection.send(RedisCommand("GET", key)) == .bulkString(value))
            }
            #expect(try connection.send(RedisCommand("GET", "missing")) == .null)
        }
    }

    @Test(arguments: testServerExecutables)
    func pipelineOf100kIncrements(executable: String) throws {
        try withTestServer(executable: executable) { server in
            let connection = try RedisConnection(endpoint: server.endpoint)
            let count = 100_000
            let commands = (0..<count).map { i in RedisCommand("INCR", "counter:\(i % 3)") }
            let replies = try connection.pipeline(commands)
            #expect(replies.count == count)
            #expect(replies[0] == .integer(1))
            #expect(replies[2] == .integer(1))
            #expect(replies[3] == .integer(2))
            #expect(replies[count - 1] == .integer(Int64(count / 3 + 1)))
            let allCorrect = replies.enumerated().allSatisfy { i, r in r == .integer(Int64(i / 3 + 1)) }
            #expect(allCorrect)
            #expect(connection.commandsSent == count)
            #expect(try connection.send(RedisCommand("GET", "counter:0")).int == Int64((count + 2) / 3))
        }
    }

    @Test(arguments: testServerExecutables)
    func multiExecPipeline(executable: String) throws {
        try withTestServer(executable: executable) { server in
            let connection = try RedisConnection(endpoint: server.endpoint)
            let replies = try connection.pipeline([
                RedisCommand("MULTI"),
                RedisCommand("SET", "a", "1"),
                RedisCommand("INCRBY", "a", 41),
                RedisCommand("HSET", "h", "f", "v"),
                RedisCommand("EXEC"),
            ])
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[1] == .simpleString("QUEUED"))
            #expect(replies[2] == .simpleString("QUEUED"))
            #expect(replies[4] == .array([.simpleString("OK"), .integer(42), .integer(1)]))
            // An error inside EXEC is an element of the EXEC array, not a thrown error.
            let withError = try connection.pipeline([
                RedisCommand("MULTI"), RedisCommand("INCR", "h"), RedisCommand("EXEC"),
            ])
            let exec = try #require(withError[2].array)
            #expect(exec.count == 1 && exec[0].isError)
        }
    }

    @Test(arguments: testServerExecutables)
    func sortedSetWithScores(executable: String) throws {
        try withTestServer(executable: executable) { server in
            let connection = try RedisConnection(endpoint: server.endpoint)
            var zadd = RedisCommand("ZADD", "ocf:i2i:1")
            let scores: [Double] = [0.1, 1.0 / 3.0, 2.5e-10, 1e20, .infinity]
            for (i, s) in scores.enumerated() {
                zadd.append(double: s)
                zadd.append(bytes: Array("item\0\(i)".utf8))
            }
            #expect(try connection.execute(zadd) == .integer(Int64(scores.count)))
            let reply = try connection.execute(RedisCommand("ZRANGE", "ocf:i2i:1", 0, -1, "WITHSCORES"))
            let flat = try #require(reply.array)
            #expect(flat.count == scores.count * 2)
            let sorted = scores.enumerated().sorted { $0.element < $1.element }
            for (k, (i, s)) in sorted.enumerated() {
                #expect(flat[2 * k].bytes == Array("item\0\(i)".utf8))
                #expect(flat[2 * k + 1].double == s)
            }
        }
    }

    @Test(arguments: testServerExecutables)
    func authWithURLPasswordAndEnvironment(executable: String) throws {
        try withTestServer(executable: executable, extraArguments: ["--requirepass", "s3cret"]) { server in
            guard case .unix(let path) = server.endpoint.address else { Issue.record("no socket"); return }
            let viaURL = try RedisEndpoint(url: "unix://:s3cret@\(path)", environment: [:])
            #expect(try RedisConnection(endpoint: viaURL).send(RedisCommand("PING")) == .simpleString("PONG"))

            let viaEnv = try RedisEndpoint(url: "unix://\(path)", environment: ["ONLINECF_REDIS_PASSWORD": "s3cret"])
            #expect(try RedisConnection(endpoint: viaEnv).send(RedisCommand("PING")) == .simpleString("PONG"))

            let noPassword = try RedisEndpoint(url: "unix://\(path)", environment: [:])
            let unauthenticated = try RedisConnection(endpoint: noPassword)
            #expect(try unauthenticated.send(RedisCommand("GET", "x")).errorMessage?.hasPrefix("NOAUTH") == true)

            let wrong = try RedisEndpoint(url: "unix://:nope@\(path)", environment: [:])
            do {
                _ = try RedisConnection(endpoint: wrong)
                Issue.record("wrong password accepted")
            } catch let error as KVError {
                #expect(error.code == .serverError)
                #expect(!error.isConnectionProblem)
                #expect(error.description.contains("authentication failed"))
                #expect(error.description.contains("unix:\(path)"))
                #expect(!error.description.contains("nope"))
            }
        }
    }
}
