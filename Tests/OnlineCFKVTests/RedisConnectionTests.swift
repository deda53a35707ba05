import Foundation
import Testing
@testable import OnlineCFKV

@Suite struct RedisConnectionTests {
    @Test func errorRepliesAreValuesAndExecuteThrowsNamingCommandAndServer() throws {
        try withTestServer { server in
            let connection = try RedisConnection(endpoint: server.endpoint)
            let reply = try connection.send(RedisCommand("ZADD", "ocf:i2i:7"))
            #expect(reply.isError)
            #expect(reply.errorMessage?.contains("wrong number of arguments") == true)
            do {
                try connection.execute(RedisCommand("ZADD", "ocf:i2i:7", "notanumber", "m"))
                Issue.record("expected a server error")
            } catch let error as KVError {
                #expect(error.code == .serverError)
                #expect(error.command == "ZADD ocf:i2i:7")
                #expect(error.server == server.endpoint.displayName)
                #expect(error.description.hasPrefix("redis unix:"))
                #expect(error.description.hasSuffix("(command: ZADD ocf:i2i:7)"))
            }
            // Errors inside a pipeline do not disturb the following replies.
            let replies = try connection.pipeline([
                RedisCommand("SET", "k", "v"), RedisCommand("INCR", "k"), RedisCommand("GET", "k"),
            ])
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[1].isError)
            #expect(replies[2] == .bulkString(Array("v".utf8)))
            #expect(!connection.isBroken)
        }
    }

    @Test func tcpPortAndDatabaseSelection() throws {
        let port = RedisServerProcess.findFreeTCPPort()
        #expect(port > 0)
        try withTestServer(port: port) { server in
            #expect(server.tcpPort == port)
            let db3 = try RedisEndpoint(url: "redis://127.0.0.1:\(port)/3", environment: [:])
            let c3 = try RedisConnection(endpoint: db3)
            try c3.execute(RedisCommand("SET", "where", "db3"))
            let c0 = try RedisConnection(endpoint: RedisEndpoint(url: "redis://127.0.0.1:\(port)", environment: [:]))
            #expect(try c0.send(RedisCommand("GET", "where")) == .null)
            #expect(try c0.execute(RedisCommand("SELECT", 3)) == .simpleString("OK"))
            #expect(try c0.send(RedisCommand("GET", "where")) == .bulkString(Array("db3".utf8)))
            guard case .unix(let path) = server.endpoint.address else { return }
            let viaSocket = try RedisConnection(endpoint: RedisEndpoint(url: "unix://\(path)?db=3", environment: [:]))
            #expect(try viaSocket.send(RedisCommand("GET", "where")) == .bulkString(Array("db3".utf8)))
            do {
                _ = try RedisConnection(endpoint: RedisEndpoint(url: "redis://127.0.0.1:\(port)/99", environment: [:]))
                Issue.record("SELECT 99 should fail")
            } catch let error as KVError {
                #expect(error.code == .serverError)
                #expect(error.message.contains("cannot select database 99"))
            }
        }
    }

    @Test func aclUser() throws {
        try withTestServer { server in
            let admin = try RedisConnection(endpoint: server.endpoint)
            try admin.execute(RedisCommand("ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all"))
            guard case .unix(let path) = server.endpoint.address else { return }
            let alice = try RedisConnection(endpoint: RedisEndpoint(url: "unix://alice:pw@\(path)", environment: [:]))
            #expect(try alice.execute(RedisCommand("ACL", "WHOAMI")) == .bulkString(Array("alice".utf8)))
            let viaEnv = try RedisConnection(endpoint: RedisEndpoint(
                url: "unix://\(path)", environment: ["ONLINECF_REDIS_USER": "alice", "ONLINECF_REDIS_PASSWORD": "pw"]))
            #expect(try viaEnv.execute(RedisCommand("ACL", "WHOAMI")) == .bulkString(Array("alice".utf8)))
            #expect(throws: KVError.self) {
                _ = try RedisConnection(endpoint: RedisEndpoint(url: "unix://alice:bad@\(path)", environment: [:]))
            }
        }
    }

    @Test func connectionRefusedAndBrokenConnection() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = RedisEndpoint.unixSocket(directory + "/none.sock")
        #expect {
            _ = try RedisConnection(endpoint: missing)
        } throws: { error in
            (error as? KVError)?.code == .connectionFailed && (error as? KVError)?.isConnectionProblem == true
        }
        #expect(!isRedisAlive(endpoint: missing))

        let server = try RedisServerProcess.start(directory: directory, persistence: false)
        #expect(isRedisAlive(endpoint: server.endpoint))
        let connection = try RedisConnection(endpoint: server.endpoint)
        #expect(try connection.send(RedisCommand("PING")) == .simpleString("PONG"))
        server.stop(save: false)
        #expect(!server.isRunning)
        #expect(throws: KVError.self) { _ = try connection.send(RedisCommand("PING")) }
        #expect(connection.isBroken)
        do {
            _ = try connection.send(RedisCommand("PING"))
        } catch {
            #expect(error.code == .connectionLost)
        }
    }

    @Test func commandTimeout() throws {
        try withTestServer { server in
            let connection = try RedisConnection(endpoint: server.endpoint, commandTimeout: .milliseconds(200))
            do {
                _ = try connection.send(RedisCommand("BLPOP", "nothing", 5))
                Issue.record("expected a timeout")
            } catch let error as KVError {
                #expect(error.code == .timeout)
                #expect(error.isConnectionProblem)
                #expect(connection.isBroken)
            }
        }
    }
}
