import Foundation
import Testing
@testable import OnlineCFKV

@Suite struct RedisServerProcessTests {
    @Test func serverNotFoundMessage() {
        let environment = ["PATH": "/nonexistent"]
        do {
            _ = try RedisServerProcess.findExecutable(explicit: nil, environment: environment)
            // Debian puts redis-server in /usr/bin, which is always searched.
            #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server"))
        } catch {
            #expect(error.code == .serverNotFound)
        }
        do {
            _ = try RedisServerProcess.start(directory: "/tmp/ocfkv-never-created", executable: "/nonexistent/redis-server")
            Issue.record("expected serverNotFound")
        } catch {
            #expect(error.code == .serverNotFound)
            #expect(error.message.contains("redis-server not found"))
        }
        do {
            _ = try RedisServerProcess.start(directory: "/tmp/ocfkv-never-created", environment: ["ONLINECF_REDIS_SERVER": "/nope/valkey-server"])
            Issue.record("expected serverNotFound")
        } catch {
            #expect(error.code == .serverNotFound)
            #expect(error.message.contains("ONLINECF_REDIS_SERVER"))
        }
        let generic = KVError(code: .serverNotFound, message: "redis-server not found: install it (apt-get install -y redis-server), set ONLINECF_REDIS_SERVER, or pass --redis URL")
        #expect(generic.description.contains("apt-get install -y redis-server"))
    }

    @Test func snapshotSurvivesRestart() throws {
        let directory = makeTemporaryDirectory("persist")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let server = try RedisServerProcess.start(directory: directory, persistence: true)
            try RedisConnection(endpoint: server.endpoint).execute(RedisCommand("SET", "durable", [UInt8]([0, 1, 2])))
            server.stop()
            #expect(!server.isRunning)
            server.stop()  // idempotent
        }
        #expect(FileManager.default.fileExists(atPath: directory + "/dump.rdb"))
        let again = try RedisServerProcess.start(directory: directory, persistence: true)
        defer { again.stop(save: false) }
        #expect(try RedisConnection(endpoint: again.endpoint).send(RedisCommand("GET", "durable")) == .bulkString([0, 1, 2]))
    }

    @Test func noSnapshotWithoutPersistence() throws {
        let directory = makeTemporaryDirectory("nopersist")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try RedisServerProcess.start(directory: directory, persistence: false)
        try RedisConnection(endpoint: server.endpoint).execute(RedisCommand("SET", "x", "y"))
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: directory + "/dump.rdb"))
    }

    @Test func refusesSecondServerOnLiveSocket() throws {
        try withTestServer { (server: RedisServerProcess) throws in
            do {
                _ = try RedisServerProcess.start(directory: server.directory, persistence: false)
                Issue.record("second server started on a live socket")
            } catch let error as KVError {
                #expect(error.code == .serverStartFailed)
                #expect(error.message.contains("already running"))
            }
            #expect(try RedisConnection(endpoint: server.endpoint).send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }

    @Test func startFailureShowsLogTail() {
        let directory = makeTemporaryDirectory("badarg")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try RedisServerProcess.start(directory: directory, persistence: false, extraArguments: ["--no-such-option", "1"])
            Issue.record("server with bad option started")
        } catch {
            #expect(error.code == .serverStartFailed)
            #expect(error.message.contains("no-such-option") || error.message.contains("Bad directive"), "\(error)")
        }
    }

    @Test func deinitStopsTheServer() throws {
        let directory = makeTemporaryDirectory("deinit")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var endpoint: RedisEndpoint
        do {
            let server = try RedisServerProcess.start(directory: directory, persistence: false)
            endpoint = server.endpoint
            #expect(isRedisAlive(endpoint: endpoint))
        }
        #expect(!isRedisAlive(endpoint: endpoint))
    }
}
