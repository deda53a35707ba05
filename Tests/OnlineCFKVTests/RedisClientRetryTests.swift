import Foundation
import Synchronization
import Testing
@testable import OnlineCFKV

@Suite struct RedisClientRetryTests {
    @Test func pipelineCompletesAfterServerRestartOnSameSocket() throws {
        let directory = makeTemporaryDirectory("retry")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try RedisServerProcess.start(directory: directory, persistence: false)
        let log = LogRecorder()
        let client = RedisClient(endpoint: first.endpoint, retry: RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(400)), log: log.sink)
        #expect(try client.execute(RedisCommand("SET", "k", "before")) == .simpleString("OK"))
        first.stop(save: false)

        // Bring a new server up on the same socket ~500 ms later, from another thread.
        let restarted = Mutex<Result<RedisServerProcess, KVError>?>(nil)
        let restarter = Thread {
            Thread.sleep(forTimeInterval: 0.5)
            let result = Result { () throws(KVError) in try RedisServerProcess.start(directory: directory, persistence: false) }
            restarted.withLock { $0 = result }
        }
        restarter.start()
        defer {
            while restarted.withLock({ $0 == nil }) { Thread.sleep(forTimeInterval: 0.02) }
            if case .success(let server) = restarted.withLock({ $0 }) { server.stop(save: false) }
        }

        let started = ContinuousClock.now
        let replies = try client.pipeline([
            RedisCommand("MULTI"), RedisCommand("SET", "k", "after"), RedisCommand("GET", "k"), RedisCommand("EXEC"),
        ])
        let elapsed = ContinuousClock.now - started
        #expect(replies.last == .array([.simpleString("OK"), .bulkString(Array("after".utf8))]))
        #expect(elapsed >= .milliseconds(400))
        #expect(!client.isUnreachable)
        #expect(client.commandsSent >= 5)

        let lines = log.all
        #expect(lines.filter { $0.contains("unreachable") }.count == 1, "\(lines)")
        #expect(lines.filter { $0.contains("reachable again") }.count == 1, "\(lines)")
        #expect(lines.allSatisfy { $0.contains(first.endpoint.displayName) })
    }

    @Test func givesUpAfterMaxElapsedWhenNoServerComesBack() throws {
        let directory = makeTemporaryDirectory("giveup")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = LogRecorder()
        let client = RedisClient(
            endpoint: .unixSocket(directory + "/redis.sock"),
            retry: RetryPolicy(initialDelay: .milliseconds(20), maxDelay: .milliseconds(100), maxElapsed: .milliseconds(600)),
            log: log.sink)
        let started = ContinuousClock.now
        do {
            _ = try client.pipeline([RedisCommand("PING")])
            Issue.record("expected a connection error")
        } catch {
            #expect(error.isConnectionProblem)
            #expect(error.code == .connectionFailed)
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(550) && elapsed < .seconds(5))
        #expect(log.all.filter { $0.contains("unreachable") }.count == 1)
        #expect(log.all.contains { $0.contains("giving up") })
    }

    @Test func shouldGiveUpStopsRetrying() throws {
        let directory = makeTemporaryDirectory("stop")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let calls = Mutex(0)
        let client = RedisClient(
            endpoint: .unixSocket(directory + "/redis.sock"),
            log: { _ in },
            shouldGiveUp: { calls.withLock { $0 += 1; return $0 > 3 } })
        #expect(throws: KVError.self) { try client.connect() }
    }

    @Test func serverErrorsAndAuthFailuresAreNotRetried() throws {
        try withTestServer(extraArguments: ["--requirepass", "pw"]) { (server: RedisServerProcess) throws in
            let client = RedisClient(endpoint: server.endpoint, log: { _ in })
            let started = ContinuousClock.now
            #expect(throws: KVError.self) { try client.execute(RedisCommand("NOSUCHCOMMAND", "x")) }
            #expect(try client.send(RedisCommand("NOSUCHCOMMAND")).isError)
            var wrong = server.endpoint
            wrong.password = "wrong"
            let badClient = RedisClient(endpoint: wrong, log: { _ in })
            #expect {
                try badClient.connect()
            } throws: { error in
                (error as? KVError)?.code == .serverError
            }
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test func backOffGrowsToTheCap() {
        let policy = RetryPolicy.default
        #expect(policy.baseDelay(attempt: 1) == .milliseconds(100))
        #expect(policy.baseDelay(attempt: 2) == .milliseconds(200))
        #expect(policy.baseDelay(attempt: 4) == .milliseconds(800))
        #expect(policy.baseDelay(attempt: 50) == .seconds(5))
        for attempt in 1...20 {
            let d = policy.jitteredDelay(attempt: attempt)
            #expect(d <= .seconds(5) && d >= policy.baseDelay(attempt: attempt) * 0.8)
        }
    }
}
