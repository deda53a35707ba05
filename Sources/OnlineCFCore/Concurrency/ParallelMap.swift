import Dispatch
import Synchronization

/// The one way OnlineCF spreads independent work over cores: indices handed out in blocks
/// from a shared counter to up to `threads` threads (`DispatchQueue.concurrentPerform`),
/// each result written to its own slot. Each index is computed by exactly one thread, so
/// the result is the same for every thread count; with one thread (or too little work for
/// a second block) everything runs on the calling thread.
public enum ParallelMap {
    /// `[transform(0), transform(1), …, transform(count - 1)]`.
    public static func map<T>(count: Int, threads: Int, block: Int = 64, _ transform: @Sendable (Int) -> T) -> [T] {
        let workers = max(1, min(threads, count / max(1, block)))
        guard workers > 1 else { return (0..<count).map(transform) }
        let results = ParallelSlots<T?>(count: count, initial: nil)
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let first = next.add(block, ordering: .relaxed).oldValue
                if first >= count { break }
                for i in first..<min(count, first + block) { results.set(i, transform(i)) }
            }
        }
        return results.take().map { $0! }
    }
}

/// Results written by several threads, each index by exactly one of them: the way
/// OnlineCF's parallel loops (`DispatchQueue.concurrentPerform`) hand back their output.
/// Use: create, let each worker `set` the indices it owns, `take()` after the loop.
public final class ParallelSlots<Element>: @unchecked Sendable {
    // Safe: `DispatchQueue.concurrentPerform` gives each worker a disjoint set of indices,
    // each slot is written through the raw buffer by one thread only, and `take()` runs
    // after every worker has returned (concurrentPerform waits for them).
    private let slots: UnsafeMutableBufferPointer<Element>

    public init(count: Int, initial: Element) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: initial)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    public func set(_ i: Int, _ value: Element) { slots[i] = value }
    public func take() -> [Element] { Array(slots) }
}
