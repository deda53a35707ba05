/// How a model's list-bearing rows are divided into partitions, each advanced by its own
/// thread.
///
/// Every row that carries a list — an item's ItemCF row, a user's u2u row, an author's
/// a2a row — belongs to exactly one partition: `FNV-1a-64(UTF-8 bytes of the id) mod
/// count`, the hash ``WorkerAssignment`` uses, so ownership is the same in every process
/// and run whatever order ids arrive in. The light state that rows are computed from (a
/// basket's recent entities, degrees, dedupe sets, Swing's interaction sets, recall
/// seeds) is not partitioned: the thread that reads events keeps it and expands each new
/// pair into row increments, which go to the partitions owning the rows and are applied
/// there, in parallel and without locks (see ``CooccurrenceCounter``).
public struct ModelPartitioning: Sendable, Hashable, CustomStringConvertible {
    /// Partitions (≥ 1; at most 255).
    public let count: Int

    /// One partition: rows are updated as each event is applied.
    public static let single = ModelPartitioning(count: 1)

    public init(count: Int) {
        precondition((1...255).contains(count), "partitions must be 1 to 255")
        self.count = count
    }

    /// The partition that owns the row of `id`.
    @inline(__always)
    public func partition(of id: String) -> Int {
        count == 1 ? 0 : Int(StableHash.fnv1a64(id) % UInt64(count))
    }

    public var description: String { "\(count) partition\(count == 1 ? "" : "s")" }
}

/// The one hash OnlineCF uses to divide ids between workers and partitions.
public enum StableHash {
    /// FNV-1a, 64 bits, over the id's UTF-8 bytes.
    @inline(__always)
    public static func fnv1a64(_ id: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
