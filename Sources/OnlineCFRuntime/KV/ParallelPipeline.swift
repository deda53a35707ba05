import Dispatch
import OnlineCFKV

/// Runs a long pipeline of independent commands (reads) over several connections at once,
/// each on a thread of its own: the client-side work of one connection (building
/// commands, parsing replies) overlaps the server's work for another. Used where a start
/// asks the KV store about every restored list (their remaining lifetimes).
final class ParallelPipeline: @unchecked Sendable {
    // Sendable by hand: `run` gives each client to exactly one thread of
    // `concurrentPerform` and returns only when all are done, so no client is ever used
    // by two threads at once.
    private let clients: [RedisClient]

    /// `connections` clients for `endpoint`, opened at their first use; `shouldGiveUp`
    /// ends their retries during a KV outage.
    init(endpoint: RedisEndpoint, retry: RetryPolicy, shouldGiveUp: @escaping @Sendable () -> Bool, connections: Int = 2) {
        clients = (0..<max(1, connections)).map { _ in RedisClient(endpoint: endpoint, retry: retry, log: stderrLine, shouldGiveUp: shouldGiveUp) }
    }

    /// Commands sent by its clients so far (call between runs).
    var commandsSent: Int { clients.reduce(0) { $0 + $1.commandsSent } }

    /// The replies to `commands`, in order (a contiguous share per connection).
    func run(_ commands: [RedisCommand]) throws -> [RESPValue] {
        let lanes = min(clients.count, max(1, commands.count / 256))
        if lanes == 1 { return try clients[0].pipeline(commands) }
        let share = (commands.count + lanes - 1) / lanes
        let results = ResultSlots(count: lanes)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            let range = (lane * share)..<min(commands.count, (lane + 1) * share)
            results.set(lane, Result { try self.clients[lane].pipeline(Array(commands[range])) })
        }
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for lane in 0..<lanes { replies += try results.get(lane) }
        return replies
    }

    private final class ResultSlots: @unchecked Sendable {
        // Sendable by hand: each slot is written by one thread (its lane) and read only
        // after `concurrentPerform` has returned (which orders the writes before it).
        private var slots: [Result<[RESPValue], any Error>?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ lane: Int, _ result: Result<[RESPValue], any Error>) {
            slots.withUnsafeMutableBufferPointer { $0[lane] = result }
        }
        func get(_ lane: Int) throws -> [RESPValue] { try slots[lane]!.get() }
    }
}
