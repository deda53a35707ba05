import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFServe
import OnlineCFTestSupport

struct KVPoolTests {
    /// One connection: the first request runs, the second waits for it, a third finds the
    /// wait queue (1) full and is refused at once; the waiting one then runs.
    @Test func busyPoolQueuesThenRefuses() async throws {
        let redis = try TestRedis()
        let endpoint = try RedisEndpoint(url: redis.url)
        let pool = KVPool(size: 1, maxWaiting: 1, keys: try KeySchema(namespace: "p")) { _ in RedisClient(endpoint: endpoint, retry: .never) }
        let gate = DispatchSemaphore(value: 0)
        let held: @Sendable (StateStore) throws -> String = { store in
            gate.wait()
            return try store.client.execute(RedisCommand("PING")).string ?? "?"
        }
        func waitFor(_ condition: @escaping ((busy: Int, waiting: Int)) -> Bool) async throws {
            for _ in 0..<500 where !condition(await pool.load()) { try await Task.sleep(for: .milliseconds(10)) }
        }
        async let first = pool.withStore(held)
        try await waitFor { $0.busy == 1 }
        async let second = pool.withStore(held)
        try await waitFor { $0.waiting == 1 }
        let load = await pool.load()
        #expect(load.busy == 1 && load.waiting == 1)
        await #expect(throws: KVPool.PoolError.self) { try await pool.withStore(held) }
        gate.signal(); gate.signal()
        #expect(try await first == "PONG")
        #expect(try await second == "PONG")
        let after = await pool.load()
        #expect(after.busy == 0 && after.waiting == 0)
        pool.close()
    }
}
