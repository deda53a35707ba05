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
/// Removable counters (TTL expiry, ``init(window:partitions:removable:)``) also take pairs
/// out: ``remove(basket:entity:)`` subtracts exactly what the pair added (its degree and
/// its count with every entity it is paired with), and ``removeBasket(_:)`` does so for a
/// whole basket. Pairing is then by position in the basket's arrival order, as in
/// ``WeightedCooccurrenceCounter``: a new entity pairs with the last `window` positions,
/// and a removed pair leaves a gap that is not re-paired across (it arrives at the end
/// if added again). With every value 1, the weighted counter's counts, and so its lists,
/// are exactly these; this one holds them as integers, in less than half the memory.
///
/// Partitions (``ModelPartitioning``): with one, rows change as each pair is added. With
/// several, each entity's row belongs to the partition its caller names; adding a pair
/// updates degrees, windows and change marks at once but only queues the row increments,
/// per owning partition, and ``applyPending()`` applies every partition's queue on its
/// own thread (automatically once a million are queued). Counts are integers, so the rows
/// are the same whatever the number of partitions. Rows must not be read while
/// increments are pending (``hasPending``).
///
/// Foreign rows (``init(window:partitions:removable:dropsForeignRows:)``, several
/// workers): an entity whose partition is ``ModelPartitioning/foreign`` keeps degrees and
/// windows like any other, but its row is never incremented and stays empty, and no row
/// change is marked for it; every kept row is exactly what it would be with all rows
/// kept. A full ``changedEntities(normalised:full:)`` then also finds the kept rows that
/// hold a foreign entity whose degree changed (its own row cannot name them).
public struct CooccurrenceCounter: Sendable {
    /// How many of a basket's most recent entities a new entity pairs with; 0 = all.
    public let window: Int
    /// Partitions the rows are divided into (1: rows change at once).
    public let partitions: Int
    /// Whether pairs can be removed (the counter then keeps every basket's live entities).
    public let removable: Bool
    /// Whether rows of foreign entities are left empty (several workers).
    public let dropsForeignRows: Bool
    /// Whether row increments are queued per partition (several partitions, or foreign
    /// rows to drop) rather than applied at once.
    private let queued: Bool
    /// Each entity's partition (``ModelPartitioning/foreign``: not kept).
    private var owner: [UInt8] = []
    /// Queued row changes of each partition: `row << 32 | neighbour`, an increment, or
    /// with ``decrementFlag`` set a decrement (a removed pair's, queued after the
    /// increment it undoes, so a row never loses a count it has not got).
    private var pending: [[UInt64]]
    private var pendingCount = 0
    /// Increments queued before they are applied without being asked.
    public static let pendingLimit = 1 << 20
    /// `degrees[e]`: number of baskets holding entity `e`.
    public private(set) var degrees: [UInt32] = []
    /// `rows[e]`: neighbour → co-occurrence count.
    public private(set) var rows: [CountRow] = []
    /// Each basket's entities in arrival order: its last `window` (all when 0); when
    /// removable, all of its live ones, with ``gap`` where a removed one was (window > 0).
    private var arrivals = BasketWindows()
    /// A removed entity's position in a removable counter's basket.
    static let gap = UInt32.max
    /// Each removable basket's number of ``gap``s (derived from `arrivals`).
    private var gapCounts: [UInt32] = []
    static let decrementFlag: UInt64 = 1 << 63
    /// What changed since the last ``clearChanges(full:)``.
    public private(set) var changes = CooccurrenceChanges()
    /// Total pair increments applied (each unordered pair counted once).
    public private(set) var pairUpdates: Int = 0

    public init(window: Int, partitions: Int = 1, removable: Bool = false, dropsForeignRows: Bool = false) {
        precondition(window >= 0 && partitions >= 1)
        self.window = window
        self.partitions = partitions
        self.removable = removable
        self.dropsForeignRows = dropsForeignRows
        self.queued = partitions > 1 || dropsForeignRows
        self.pending = Array(repeating: [], count: queued ? partitions : 0)
    }

    private static let foreign = ModelPartitioning.foreign

    /// Whether `basket`'s window (its last `window` distinct entities; all of them when
    /// unbounded) holds `entity`.
    @inline(__always)
    public func windowHolds(basket: UInt32, entity: UInt32) -> Bool {
        let b = Int(basket)
        return arrivals.contains(entity, in: b)
    }

    /// The entities the next new pair of `basket` pushes out of its bounded window (none
    /// while it is not full, and none for a removable counter, which keeps every live one).
    public func leavingWindow(basket: UInt32) -> [UInt32] {
        let b = Int(basket), n = arrivals.count(of: b)
        guard !removable, window > 0, n >= window else { return [] }
        return arrivals.prefix(n - window + 1, of: b)
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
    /// several partitions, `partition` owns the entity's row (``ModelPartitioning/foreign``:
    /// another worker's).
    public mutating func addNewPair(basket: UInt32, entity: UInt32, partition: Int = 0) {
        let e = Int(entity), b = Int(basket)
        if e >= degrees.count {
            degrees.append(contentsOf: repeatElement(0, count: e + 1 - degrees.count))
            rows.append(contentsOf: repeatElement(CountRow(), count: e + 1 - rows.count))
            if queued { owner.append(contentsOf: repeatElement(0, count: e + 1 - owner.count)) }
        }
        if b >= arrivals.count {
            arrivals.ensure(b)
            if removable { gapCounts.append(contentsOf: repeatElement(0, count: b + 1 - gapCounts.count)) }
        }
        degrees[e] += 1
        changes.degree(entity)
        if queued { owner[e] = UInt8(partition) }
        let keepsOwn = partition != Int(Self.foreign)
        // Read in place: a copy of the basket would make the append below copy it all.
        let count = arrivals.count(of: b)
        var paired = 0
        for q in (window > 0 ? max(0, count - window) : 0)..<count {
            let o = arrivals[b, q]
            if o == Self.gap { continue }
            paired += 1
            if !queued {
                rows[e].increment(o)
                rows[Int(o)].increment(entity)
                changes.row(o)
                continue
            }
            if keepsOwn {
                pending[partition].append(UInt64(entity) << 32 | UInt64(o))
                pendingCount += 1
            }
            let po = owner[Int(o)]
            if po != Self.foreign {
                pending[Int(po)].append(UInt64(o) << 32 | UInt64(entity))
                pendingCount += 1
                changes.row(o)
            }
        }
        if paired > 0 {
            if keepsOwn { changes.row(entity) }
            pairUpdates += paired
        }
        if !removable && window > 0 && count >= window {
            arrivals.removeFirst(count - window + 1, of: b)
        }
        arrivals.append(entity, to: b)
        if pendingCount >= Self.pendingLimit { applyPending() }
    }

    /// Removes the pair (basket, entity) of a removable counter if present: the entity's
    /// degree and its count with every entity it is paired with in the basket go down by
    /// one (counts reaching 0 leave the rows), marked as changes.
    public mutating func remove(basket: UInt32, entity: UInt32) {
        precondition(removable, "remove on a counter that is not removable")
        let b = Int(basket), e = Int(entity)
        guard let p = arrivals.lastIndex(of: entity, in: b) else { return }
        degrees[e] -= 1
        changes.degree(entity)
        let count = arrivals.count(of: b)
        let lower = window > 0 ? max(0, p - window) : 0
        let upper = window > 0 ? min(count - 1, p + window) : count - 1
        var paired = 0
        for q in lower...upper where q != p {
            let o = arrivals[b, q]
            if o == Self.gap { continue }
            decrementPair(entity, o)
            paired += 1
        }
        if paired > 0 { pairUpdates += paired }
        if window == 0 {
            // Positions do not matter: the last entity takes the freed place.
            arrivals[b, p] = arrivals[b, count - 1]
            arrivals.removeLast(of: b)
        } else {
            arrivals[b, p] = Self.gap
            gapCounts[b] += 1
            if Int(gapCounts[b]) * 2 > arrivals.count(of: b) { compactGaps(of: b) }
        }
        if pendingCount >= Self.pendingLimit { applyPending() }
    }

    /// Takes a pair's count out of both rows (kept ones), marking them changed: at once
    /// with one partition, else queued after the increments (see ``pending``).
    @inline(__always)
    private mutating func decrementPair(_ e: UInt32, _ o: UInt32) {
        if !queued {
            rows[Int(e)].decrement(o)
            rows[Int(o)].decrement(e)
            changes.row(e); changes.row(o)
            return
        }
        for (row, other) in [(e, o), (o, e)] {
            let p = owner[Int(row)]
            guard p != Self.foreign else { continue }
            pending[Int(p)].append(Self.decrementFlag | UInt64(row) << 32 | UInt64(other))
            pendingCount += 1
            changes.row(row)
        }
    }

    /// Removes every pair of a removable counter's basket and frees it (an entity added
    /// afterwards starts at position 0).
    public mutating func removeBasket(_ basket: UInt32) {
        precondition(removable, "removeBasket on a counter that is not removable")
        let b = Int(basket)
        guard arrivals.count(of: b) > 0 else { return }
        let members = arrivals.members(of: b)
        // From the last entity back, each pairs only with those still before it.
        for p in members.indices.reversed() where members[p] != Self.gap {
            let e = members[p]
            degrees[Int(e)] -= 1
            changes.degree(e)
            var paired = 0
            for q in (window > 0 ? max(0, p - window) : 0)..<p where members[q] != Self.gap {
                decrementPair(e, members[q])
                paired += 1
            }
            pairUpdates += paired
        }
        arrivals.replace(b, with: [])
        gapCounts[b] = 0
        if pendingCount >= Self.pendingLimit { applyPending() }
    }

    /// Shortens a basket's gaps once they are most of it, without changing any pairing:
    /// leading gaps go, and a run of more than `window` gaps keeps `window` of them (no
    /// pair spans it either way).
    private mutating func compactGaps(of b: Int) {
        let members = arrivals.members(of: b)
        let gaps = Int(gapCounts[b])
        var kept: [UInt32] = []
        kept.reserveCapacity(members.count - gaps + window)
        var run = 0
        for o in members {
            if o == Self.gap {
                run += 1
                if !kept.isEmpty && run <= window { kept.append(o) }
            } else {
                run = 0
                kept.append(o)
            }
        }
        // A trailing run longer than `window` already keeps just `window` gaps; an
        // all-gap basket ends empty.
        arrivals.replace(b, with: kept)
        gapCounts[b] = UInt32(kept.count(where: { $0 == Self.gap }))
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
                for key in queues[p] {
                    let row = Int((key & ~Self.decrementFlag) >> 32), other = UInt32(truncatingIfNeeded: key)
                    if key & Self.decrementFlag == 0 { target.rows[row].increment(other) } else { target.rows[row].decrement(other) }
                }
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
        let foreign: ((UInt32) -> Bool)? = dropsForeignRows ? { [owner] e in Int(e) < owner.count && owner[Int(e)] == Self.foreign } : nil
        return changes.entities(normalised: normalised, full: full, rowCount: rows.count, isForeign: foreign) { e, body in
            rows[Int(e)].forEach { o, _ in body(o) }
        }
    }

    /// Marks an entity and every entity it co-occurs with as changed (their lists may
    /// hold it: rows are symmetric; for a foreign entity, the kept rows holding it).
    public mutating func markNeighbourhoodChanged(_ e: UInt32) {
        applyPending()
        guard Int(e) < rows.count else { return }
        changes.row(e)
        if dropsForeignRows && owner[Int(e)] == Self.foreign {
            for x in rows.indices where rows[x].value(of: e) > 0 { changes.row(UInt32(x)) }
        } else {
            rows[Int(e)].forEach { o, _ in changes.row(o) }
        }
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
        encoder.write(bool: removable)
        encoder.write(array: degrees)
        encoder.write(parts: rows)
        arrivals.encode(to: &encoder)
        encoder.write(part: changes)
        encoder.write(int: pairUpdates)
    }

    /// Reads a counter written by ``encode(to:)``, divided into `partitions` with each
    /// entity's partition given by `owner` (ignored for one partition and all rows kept);
    /// with `dropsForeignRows`, the rows of foreign entities are emptied.
    public init(from decoder: inout SnapshotDecoder, partitions: Int, dropsForeignRows: Bool = false,
                owner: (UInt32) -> UInt8) throws(SnapshotError) {
        let window = try decoder.readInt()
        guard window >= 0 else { throw SnapshotError("a co-occurrence window of \(window) in the snapshot: it is damaged") }
        let removable = try decoder.readBool()
        self.init(window: window, partitions: partitions, removable: removable, dropsForeignRows: dropsForeignRows)
        degrees = try decoder.readArray()
        rows = try decoder.readParts()
        arrivals = try BasketWindows(from: &decoder)
        if removable { gapCounts = (0..<arrivals.count).map { b in UInt32(arrivals.members(of: b).count(where: { $0 == Self.gap })) } }
        changes = try decoder.readPart()
        pairUpdates = try decoder.readInt()
        guard rows.count == degrees.count else { throw SnapshotError("a co-occurrence counter of the snapshot has \(rows.count) rows for \(degrees.count) entities: it is damaged") }
        if queued { self.owner = (0..<degrees.count).map { owner(UInt32($0)) } }
        if dropsForeignRows {
            for e in rows.indices where self.owner[e] == Self.foreign && rows[e].count > 0 { rows[e] = CountRow() }
        }
    }
}
