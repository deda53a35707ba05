/// How a model's list-bearing rows are divided into partitions, each advanced by its own
/// thread, and — with several workers — which rows this process keeps at all.
///
/// Every row that carries a list — an item's ItemCF and Swing rows, a user's u2u row, an
/// author's a2a row — belongs to exactly one worker and, within it, to one partition. With
/// `h = FNV-1a-64(UTF-8 bytes of the id)`, `N` workers and `P` partitions:
///
///     worker(id)    = h mod N
///     partition(id) = (h div N) mod P
///
/// so ownership is the same in every process and run whatever order ids arrive in, and the
/// partitions of one worker share its rows evenly whatever `N` and `P` are. A row another
/// worker owns is *foreign*: this process never increments it (it stays empty), and never
/// writes its list. The light state that rows are computed from (a basket's recent
/// entities, degrees, dedupe sets, Swing's interaction sets, recall seeds) is not
/// partitioned: the thread that reads events keeps all of it and expands each new pair
/// into row increments, which go to the partitions owning the rows and are applied there,
/// in parallel and without locks (see ``CooccurrenceCounter``).
public struct ModelPartitioning: Sendable, Hashable, CustomStringConvertible {
    /// Partitions (≥ 1; at most 255).
    public let count: Int
    /// The worker whose rows this process keeps (all of them for a job alone).
    public let workers: WorkerAssignment

    /// The partition number that marks a foreign row (one another worker keeps).
    public static let foreign: UInt8 = 255

    /// One partition, every row: rows are updated as each event is applied.
    public static let single = ModelPartitioning(count: 1)

    public init(count: Int, workers: WorkerAssignment = .single) {
        precondition((1...255).contains(count), "partitions must be 1 to 255")
        self.count = count
        self.workers = workers
    }

    /// Whether row increments are routed (queued per partition, foreign ones dropped)
    /// rather than applied at once: several partitions or several workers.
    public var routesRows: Bool { count > 1 || workers.isShared }

    /// The partition that owns the row of `id`, or ``foreign`` when another worker does.
    @inline(__always)
    public func partition(of id: String) -> UInt8 {
        guard routesRows else { return 0 }
        let h = StableHash.fnv1a64(id), n = UInt64(workers.count)
        if n > 1 && Int(h % n) != workers.index { return Self.foreign }
        return UInt8((h / n) % UInt64(count))
    }

    /// Whether this process keeps the row of `id`.
    public func keeps(_ id: String) -> Bool { partition(of: id) != Self.foreign }

    public var description: String {
        "\(count) partition\(count == 1 ? "" : "s")" + (workers.isShared ? " of worker \(workers)" : "")
    }
}

/// Each entity's partition by index (``ModelPartitioning/foreign`` for a row another
/// worker keeps), filled as ids arrive. Empty when rows are not routed: every row is kept.
public struct RowOwners: Sendable {
    public internal(set) var partitions: [UInt8] = []

    public init() {}

    /// Whether this process keeps the row of entity `e`.
    @inline(__always)
    public func keeps(_ e: UInt32) -> Bool { Int(e) >= partitions.count || partitions[Int(e)] != ModelPartitioning.foreign }
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
