/// Which worker of a job this process is, and which ids it owns.
///
/// Several `onlinecf run` workers can share one job (one namespace) and divide its model:
/// each reads the whole input, and holds, applies and writes only the rows of the ids it
/// owns (``ModelPartitioning``). Ownership is a fixed function of the id's bytes, the same
/// in every process and every run: `owner(id) = FNV-1a-64(UTF-8 bytes of id) mod count`.
/// So every id (user, item or author) has exactly one owner.
///
/// A single job is worker 0 of 1, which owns everything.
public struct WorkerAssignment: Sendable, Hashable, CustomStringConvertible {
    /// How many workers share the job (≥ 1).
    public let count: Int
    /// This worker's number, `0..<count`.
    public let index: Int

    /// The assignment of a job that runs alone.
    public static let single = WorkerAssignment(uncheckedCount: 1, index: 0)

    /// Fails when `count < 1` or `index` is not in `0..<count`.
    public init?(count: Int, index: Int) {
        guard count >= 1, index >= 0, index < count else { return nil }
        self.count = count
        self.index = index
    }

    private init(uncheckedCount: Int, index: Int) {
        self.count = uncheckedCount
        self.index = index
    }

    /// True when several workers share the job.
    public var isShared: Bool { count > 1 }

    /// The numbers of the other workers of the job.
    public var peers: [Int] { (0..<count).filter { $0 != index } }

    /// The worker that owns `id`.
    public func owner(of id: String) -> Int {
        guard count > 1 else { return 0 }
        return Int(StableHash.fnv1a64(id) % UInt64(count))
    }

    /// Whether this worker owns `id`.
    @inline(__always)
    public func owns(_ id: String) -> Bool { count == 1 || owner(of: id) == index }

    /// `index/count`, e.g. `0/2`.
    public var description: String { "\(index)/\(count)" }
}
