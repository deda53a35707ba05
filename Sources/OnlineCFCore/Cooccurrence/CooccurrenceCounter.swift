import Dispatch

/// Binary co-occurrence of entities within baskets, maintained incrementally.
///
/// One mechanism serves three algorithms: ItemCF (baskets = users, entities = items),
/// u2u (baskets = items, entities = users) and a2a (baskets = users, entities = authors).
///
/// For every new (basket, entity) pair passed to ``addNewPair(basket:entity:)``:
/// - `degree(e) += 1`: the number of baskets that hold `e`;
/// - `C(e, o) += 1` and `C(o, e) += 1` for each `o` among the basket's last `window`
///   distinct entities before `e` (all of them when `window == 0`).
///
/// So with `window == 0`, `C(a, b)` is exactly the number of baskets holding both `a`
/// and `b`. With a bound `H`, `C(a, b)` counts the baskets in which `a` and `b` arrived
/// fewer than `H + 1` distinct entities apart. The caller guarantees each pair is new
/// (deduplication belongs to the model, which sees all counters).
///
/// Partitions (``ModelPartitioning``): with one, rows change as each pair is added. With
/// several, each entity's row belongs to the partition its caller names; adding a pair
/// updates degrees, windows and change marks at once but only queues the row increments,
/// per owning partition, and ``applyPending()`` applies every partition's queue on its
/// own thread (automatically once a million are queued). Counts are integers, so the rows
/// are the same whatever the number of partitions. Rows must not be read while
/// increments are pending (``hasPending``).
public struct CooccurrenceCounter: Sendable {
    /// How many of a basket's most recent entities a new entity pairs with; 0 = all.
    public let window: Int
    /// Partitions the rows are divided into (1: rows change at once).
    public let partitions: Int
    /// Each entity's partition.
    private var owner: [UInt8] = []
    /// Queued row increments of each partition: `row << 32 | neighbour`.
    private var pending: [[UInt64]]
    private var pendingCount = 0
    /// Increments queued before they are applied without being asked.
    public static let pendingLimit = 1 << 20
    /// `degrees[e]`: number of baskets holding entity `e`.
    public private(set) var degrees: [UInt32] = []
    /// `rows[e]`: neighbour → co-occurrence count.
    public private(set) var rows: [CountRow] = []
    private var recent: [[UInt32]] = []
    /// What changed since the last ``clearChanges(full:)``.
    public private(set) var changes = CooccurrenceChanges()
    /// Total pair increments applied (each unordered pair counted once).
    public private(set) var pairUpdates: Int = 0

    public init(window: Int, partitions: Int = 1) {
        precondition(window >= 0 && partitions >= 1)
        self.window = window
        self.partitions = partitions
        self.pending = Array(repeating: [], count: partitions > 1 ? partitions : 0)
    }

    /// Whether row increments are queued (rows are then behind degrees and windows).
    public var hasPending: Bool { pendingCount > 0 }

    /// The number of entities with an index.
    public var entityCount: Int { degrees.count }

    @inline(__always)
    public func degree(_ entity: UInt32) -> UInt32 {
        Int(entity) < degrees.count ? degrees[Int(entity)] : 0
    }

    /// Records that `basket` now holds `entity` (which it did not hold before); with
    /// several partitions, `partition` owns the entity's row.
    public mutating func addNewPair(basket: UInt32, entity: UInt32, partition: Int = 0) {
        let e = Int(entity), b = Int(basket)
        if e >= degrees.count {
            degrees.append(contentsOf: repeatElement(0, count: e + 1 - degrees.count))
            rows.append(contentsOf: repeatElement(CountRow(), count: e + 1 - rows.count))
            if partitions > 1 { owner.append(contentsOf: repeatElement(0, count: e + 1 - owner.count)) }
        }
        if b >= recent.count { recent.append(contentsOf: repeatElement([], count: b + 1 - recent.count)) }
        degrees[e] += 1
        changes.degree(entity)
        let others = recent[b]
        if !others.isEmpty {
            changes.row(entity)
            if partitions == 1 {
                for o in others {
                    rows[e].increment(o)
                    rows[Int(o)].increment(entity)
                    changes.row(o)
                }
            } else {
                owner[e] = UInt8(partition)
                for o in others {
                    pending[partition].append(UInt64(entity) << 32 | UInt64(o))
                    pending[Int(owner[Int(o)])].append(UInt64(o) << 32 | UInt64(entity))
                    changes.row(o)
                }
                pendingCount += 2 * others.count
            }
            pairUpdates += others.count
        } else if partitions > 1 {
            owner[e] = UInt8(partition)
        }
        if window > 0 && others.count >= window {
            recent[b].removeFirst(others.count - window + 1)
        }
        recent[b].append(entity)
        if pendingCount >= Self.pendingLimit { applyPending() }
    }

    /// Applies the queued row increments, each partition's on its own thread (each thread
    /// changes only the rows of its partition, in the order they were queued).
    public mutating func applyPending() {
        guard pendingCount > 0 else { return }
        let queues = pending
        for p in pending.indices { pending[p].removeAll(keepingCapacity: true) }
        pendingCount = 0
        rows.withUnsafeMutableBufferPointer { rows in
            let target = RowTarget(rows: rows)
            DispatchQueue.concurrentPerform(iterations: queues.count) { p in
                for key in queues[p] { target.rows[Int(key >> 32)].increment(UInt32(truncatingIfNeeded: key)) }
            }
        }
    }

    /// The rows, shared by the partitions' threads while they apply their queues.
    private struct RowTarget: @unchecked Sendable {
        // Safe: each thread of `applyPending` increments only rows of its own partition
        // (an entity has one owner), so no row is touched by two threads; the buffer stays
        // valid and unresized for the whole `concurrentPerform`, which returns only once
        // every thread is done.
        let rows: UnsafeMutableBufferPointer<CountRow>
    }

    /// Entities whose list under a measure may have changed.
    ///
    /// Touched entities (`full == false`): those whose row changed, and for measures
    /// normalised by degrees those whose own degree changed, since the last
    /// `clearChanges`. All of them (`full == true`): in addition, for normalised
    /// measures, every neighbour of an entity whose degree changed since the last full
    /// clear, since the neighbour's score for it changed.
    public func changedEntities(normalised: Bool, full: Bool) -> [UInt32] {
        assert(!hasPending, "rows read with increments pending")
        return changes.entities(normalised: normalised, full: full) { e, body in rows[Int(e)].forEach { o, _ in body(o) } }
    }

    /// Marks an entity and every entity it co-occurs with as changed (their lists may
    /// hold it: rows are symmetric).
    public mutating func markNeighbourhoodChanged(_ e: UInt32) {
        applyPending()
        guard Int(e) < rows.count else { return }
        changes.row(e)
        rows[Int(e)].forEach { o, _ in changes.row(o) }
    }

    /// Marks every entity as changed (after a parameter change, every list is stale).
    public mutating func markAllChanged() { changes.markAll(count: degrees.count) }

    /// Forgets the changes reported by `changedEntities(normalised:full:)` with the same `full`.
    public mutating func clearChanges(full: Bool) { changes.clear(full: full) }
}

extension CooccurrenceCounter {
    /// Writes the counter for a snapshot; increments must not be pending (the model applies
    /// them at every micro-batch). The partitions are not written: a restore may run with
    /// another count (``init(from:partitions:owner:)``).
    public func encode(to encoder: inout SnapshotEncoder) {
        precondition(!hasPending, "snapshot of a co-occurrence counter with increments pending")
        encoder.write(int: window)
        encoder.write(array: degrees)
        encoder.write(parts: rows)
        encoder.write(arrays: recent)
        encoder.write(part: changes)
        encoder.write(int: pairUpdates)
    }

    /// Reads a counter written by ``encode(to:)``, divided into `partitions` with each
    /// entity's partition given by `owner` (ignored for one partition).
    public init(from decoder: inout SnapshotDecoder, partitions: Int, owner: (UInt32) -> UInt8) throws(SnapshotError) {
        let window = try decoder.readInt()
        guard window >= 0 else { throw SnapshotError("a co-occurrence window of \(window) in the snapshot: it is damaged") }
        self.init(window: window, partitions: partitions)
        degrees = try decoder.readArray()
        rows = try decoder.readParts()
        recent = try decoder.readArrays()
        changes = try decoder.readPart()
        pairUpdates = try decoder.readInt()
        guard rows.count == degrees.count else { throw SnapshotError("a co-occurrence counter of the snapshot has \(rows.count) rows for \(degrees.count) entities: it is damaged") }
        if partitions > 1 { self.owner = (0..<degrees.count).map { owner(UInt32($0)) } }
    }
}
