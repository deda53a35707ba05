import Dispatch
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime

/// A fixed pool of blocking KV connections for async callers.
///
/// `RedisClient` (and everything built on it: `StateStore`, `KVRecall`) is synchronous and
/// not thread-safe. The pool owns `size` clients, each with its own serial `DispatchQueue`;
/// ``withStore(_:)`` waits for a free connection, runs the blocking body on that
/// connection's queue (never on a NIO event loop or the Swift cooperative pool) and resumes
/// the caller with the result through a continuation.
///
/// Guarantees: a connection serves one request at a time; requests get connections in
/// arrival order; at most `maxWaiting` requests wait for a connection, and one more is
/// refused at once with ``PoolError/busy`` (the server answers 503) rather than queued
/// without bound.
public final class KVPool: Sendable {
    /// One connection and the queue its blocking calls run on. Touched only on `queue`.
    final class Slot: @unchecked Sendable {
        let queue: DispatchQueue
        let client: RedisClient
        let store: StateStore
        init(index: Int, client: RedisClient, keys: KeySchema) {
            queue = DispatchQueue(label: "onlinecf-serve-kv-\(index)")
            self.client = client
            store = StateStore(client: client, keys: keys)
        }
    }

    public enum PoolError: Error, Sendable { case busy }

    public let size: Int
    public let maxWaiting: Int
    private let slots: [Slot]
    private let gate: Gate

    /// `makeClient(i)` makes connection `i` (connections open lazily, on first use).
    public init(size: Int, maxWaiting: Int, keys: KeySchema, makeClient: (Int) -> RedisClient) {
        precondition(size >= 1 && maxWaiting >= 0)
        self.size = size
        self.maxWaiting = maxWaiting
        slots = (0..<size).map { Slot(index: $0, client: makeClient($0), keys: keys) }
        gate = Gate(free: Array(0..<size), maxWaiting: maxWaiting)
    }

    /// Runs `body` with a connection of its own, off the caller's thread.
    public func withStore<T: Sendable>(_ body: @escaping @Sendable (StateStore) throws -> T) async throws -> T {
        let index = try await gate.acquire()
        let slot = slots[index]
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            slot.queue.async { continuation.resume(returning: Result { try body(slot.store) }) }
        }
        await gate.release(index)
        return try result.get()
    }

    /// Connections in use and requests waiting for one (for the metrics).
    public func load() async -> (busy: Int, waiting: Int) { await gate.load() }

    /// Closes every connection (after the server stopped).
    public func close() {
        for slot in slots { slot.queue.sync { slot.client.close() } }
    }

    /// Hands out connection indices in FIFO order, with a bounded line of waiters.
    actor Gate {
        private var free: [Int]
        private var waiters: [CheckedContinuation<Int, Never>] = []
        private var head = 0
        private let maxWaiting: Int
        private let size: Int

        init(free: [Int], maxWaiting: Int) {
            self.free = free
            self.size = free.count
            self.maxWaiting = maxWaiting
        }

        func acquire() async throws -> Int {
            if let index = free.popLast() { return index }
            guard waiters.count - head < maxWaiting else { throw PoolError.busy }
            return await withCheckedContinuation { waiters.append($0) }
        }

        func release(_ index: Int) {
            if head < waiters.count {
                let next = waiters[head]
                head += 1
                if head > 64 && head * 2 > waiters.count { waiters.removeFirst(head); head = 0 }
                next.resume(returning: index)
            } else {
                free.append(index)
            }
        }

        func load() -> (busy: Int, waiting: Int) { (size - free.count, waiters.count - head) }
    }
}
