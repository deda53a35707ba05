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
