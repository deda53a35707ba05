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
public struct CooccurrenceCounter: Sendable {
    /// How many of a basket's most recent entities a new entity pairs with; 0 = all.
    public let window: Int
    /// `degrees[e]`: number of baskets holding entity `e`.
    public private(set) var degrees: [UInt32] = []
    /// `rows[e]`: neighbour → co-occurrence count.
    public private(set) var rows: [CountRow] = []
    private var recent: [[UInt32]] = []
    /// What changed since the last ``clearChanges(full:)``.
    public private(set) var changes = CooccurrenceChanges()
    /// Total pair increments applied (each unordered pair counted once).
    public private(set) var pairUpdates: Int = 0

    public init(window: Int) {
        precondition(window >= 0)
        self.window = window
    }

    /// The number of entities with an index.
    public var entityCount: Int { degrees.count }

    @inline(__always)
    public func degree(_ entity: UInt32) -> UInt32 {
        Int(entity) < degrees.count ? degrees[Int(entity)] : 0
    }

    /// Records that `basket` now holds `entity` (which it did not hold before).
    public mutating func addNewPair(basket: UInt32, entity: UInt32) {
        let e = Int(entity), b = Int(basket)
        if e >= degrees.count {
            degrees.append(contentsOf: repeatElement(0, count: e + 1 - degrees.count))
            rows.append(contentsOf: repeatElement(CountRow(), count: e + 1 - rows.count))
        }
        if b >= recent.count { recent.append(contentsOf: repeatElement([], count: b + 1 - recent.count)) }
        degrees[e] += 1
        changes.degree(entity)
        let others = recent[b]
        if !others.isEmpty {
            changes.row(entity)
            for o in others {
                rows[e].increment(o)
                rows[Int(o)].increment(entity)
                changes.row(o)
            }
            pairUpdates += others.count
        }
        if window > 0 && others.count >= window {
            recent[b].removeFirst(others.count - window + 1)
        }
        recent[b].append(entity)
    }

    /// Entities whose list under a measure may have changed.
    ///
    /// Touched entities (`full == false`): those whose row changed, and for measures
    /// normalised by degrees those whose own degree changed, since the last
    /// `clearChanges`. All of them (`full == true`): in addition, for normalised
    /// measures, every neighbour of an entity whose degree changed since the last full
    /// clear, since the neighbour's score for it changed.
    public func changedEntities(normalised: Bool, full: Bool) -> [UInt32] {
        changes.entities(normalised: normalised, full: full) { e, body in rows[Int(e)].forEach { o, _ in body(o) } }
    }

    /// Marks an entity and every entity it co-occurs with as changed (their lists may
    /// hold it: rows are symmetric).
    public mutating func markNeighbourhoodChanged(_ e: UInt32) {
        guard Int(e) < rows.count else { return }
        changes.row(e)
        rows[Int(e)].forEach { o, _ in changes.row(o) }
    }

    /// Marks every entity as changed (after a parameter change, every list is stale).
    public mutating func markAllChanged() { changes.markAll(count: degrees.count) }

    /// Forgets the changes reported by `changedEntities(normalised:full:)` with the same `full`.
    public mutating func clearChanges(full: Bool) { changes.clear(full: full) }
}
