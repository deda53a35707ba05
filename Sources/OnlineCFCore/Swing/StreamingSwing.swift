/// Swing maintained as events arrive: rows recomputed exactly when they change, within a
/// budget per refresh, and increments where the budget does not reach.
///
/// The state is every user's distinct items, every item's users (in arrival order), a
/// score row per item and the queue of rows waiting for an exact recomputation
/// (``stale``, oldest first). A Swing score is a sum of terms, one per (pair of users
/// {u, v}, ordered pair of distinct items (i, j) both in `I_u ∩ I_v`), each
/// `w_u·w_v / (alpha2 + |I_u ∩ I_v|)`.
///
/// **Which rows change.** When user `u` adds item `j`, `w_u`, `|I_u ∩ I_v|` and the sets
/// `I_u ∩ I_v` change, so the row of every item of `u` (and only those) may change. The
/// first event of `u` since the last refresh queues every item of `u`; later ones queue
/// `j` only. An expiring user queues its items; an expiring item queues every item of
/// its users.
///
/// **Refresh** (``refresh(itemNames:threads:maxRows:)``, at each emission): the first
/// `maxRows` rows of the queue are recomputed exactly from the interaction sets
/// (``SwingScorer``, the batch formula, sampling included), so each of them then equals
/// the batch row over the events applied so far.
///
/// **Increments**, for rows the next refresh will not reach: an event whose rows all sit
/// within the first ``SwingParameters/refreshRows`` places of the queue adds nothing to
/// any row (the next refresh recomputes them). Otherwise each term is added once, at the
/// moment it comes to exist, with the weights and the intersection size of that moment:
///
/// - when a kept user `u` adds item `j`, for every kept user `v` among `j`'s last
///   `streamingUserWindow` users (all with 0), with `S = I_u ∩ I_v` (now holding `j`) and
///   `c = w_u·w_v / (alpha2 + |S|)`: `score(i, j) += c` and `score(j, i) += c` for each
///   `i ∈ S`, `i ≠ j`;
/// - when `u` reaches `minUserBehavior` items (becomes kept), it catches up: for every
///   kept user `v` among the windows of its items, every ordered pair of `S` gets `c`.
///
/// So a row is always either exact as of its last refresh plus increments since, and the
/// rows a refresh reaches are exact. After a refresh that empties the queue (``rebuild``,
/// or `maxRows` nil) every row equals the batch row.
///
/// Foreign rows (several workers): the interaction sets are whole, but only the rows
/// `keeps` admits are queued, incremented and recomputed; the others stay empty.
public struct StreamingSwing: Sendable {
    public let parameters: SwingParameters
    /// When false, events only update the interaction sets and the queue (batch mode and
    /// log replay before a rebuild point): scores change only by a refresh.
    public var incremental = true
    public private(set) var userItems: [[UInt32]] = []
    public private(set) var itemUsers: [[UInt32]] = []
    public private(set) var rows: [WeightRow] = []
    public private(set) var changed = DirtySet()
    /// Rows that may differ from the formula, oldest first.
    public private(set) var stale = RefreshQueue()
    /// Users with an event since the last refresh (their items are all queued).
    private var touchedUsers = DirtySet()
    /// Terms added by increments (each counts once for both directions).
    public private(set) var termsAdded = 0
    /// Rows recomputed exactly so far.
    public private(set) var rowsRefreshed = 0
    private var shared: [UInt32] = []
    private var seen = DirtySet()

    public init(parameters: SwingParameters) { self.parameters = parameters }

    /// Records that `user` now holds `item` (a new pair). `holds(v, x)` answers whether
    /// user `v` holds item `x`; `keeps(x)` whether this process keeps item `x`'s row.
    public mutating func addNewPair(user u: UInt32, item j: UInt32, holds: (UInt32, UInt32) -> Bool,
                                    keeps: (UInt32) -> Bool = { _ in true }) {
        let ui = Int(u), ji = Int(j)
        if ui >= userItems.count { userItems.append(contentsOf: repeatElement([], count: ui + 1 - userItems.count)) }
        if ji >= itemUsers.count {
            itemUsers.append(contentsOf: repeatElement([], count: ji + 1 - itemUsers.count))
            rows.append(contentsOf: repeatElement(WeightRow(), count: ji + 1 - rows.count))
        }
        userItems[ui].append(j)
        defer { itemUsers[ji].append(u) }
        if touchedUsers.contains(u) {
            if keeps(j) { stale.push(j) }
        } else {
            touchedUsers.insert(u)
            for i in userItems[ui] where keeps(i) { stale.push(i) }
        }
        guard incremental else { return }
        // Every row this event changes is queued within the next refresh's reach.
        if stale.count <= parameters.refreshRows { return }
        let n = userItems[ui].count
        guard parameters.isKept(itemCount: n) else { return }
        let wu = parameters.weight(itemCount: n)
        if n == parameters.minUserBehavior {
            // Catch up: u just became kept; add every term with the kept users it meets.
            seen.removeAll()
            var candidates: [UInt32] = []
            for item in userItems[ui] {
                for v in window(item) where v != u && !seen.contains(v) {
                    seen.insert(v)
                    candidates.append(v)
                }
            }
            for v in candidates {
                guard let c = term(u, wu, v, holds: holds) else { continue }
                for x in shared where keeps(x) { for y in shared where y != x { rows[Int(x)].add(y, c) } ; changed.insert(x) }
                termsAdded += shared.count * (shared.count - 1) / 2
            }
        } else {
            let keepsJ = keeps(j)
            for v in window(j) where v != u {
                guard let c = term(u, wu, v, holds: holds) else { continue }
                for i in shared where i != j {
                    if keeps(i) {
                        rows[Int(i)].add(j, c)
                        changed.insert(i)
                    }
                    if keepsJ { rows[ji].add(i, c) }
                    termsAdded += 1
                }
                if keepsJ { changed.insert(j) }
            }
        }
    }

    private func window(_ item: UInt32) -> ArraySlice<UInt32> {
        let users = itemUsers[Int(item)]
        let w = parameters.streamingUserWindow
        return w > 0 && users.count > w ? users[(users.count - w)...] : users[...]
    }

    /// Fills `shared` with `I_u ∩ I_v` and returns the term's value, or nil when `v` is
    /// not kept or they share fewer than two items.
    private mutating func term(_ u: UInt32, _ wu: Double, _ v: UInt32, holds: (UInt32, UInt32) -> Bool) -> Double? {
        let nv = userItems[Int(v)].count
        guard parameters.isKept(itemCount: nv) else { return nil }
        let mine = userItems[Int(u)], theirs = userItems[Int(v)]
        shared.removeAll(keepingCapacity: true)
        if mine.count <= theirs.count {
            for x in mine where holds(v, x) { shared.append(x) }
        } else {
            for x in theirs where holds(u, x) { shared.append(x) }
        }
        guard shared.count >= 2 else { return nil }
        return wu * parameters.weight(itemCount: nv) / (parameters.alpha2 + Double(shared.count))
    }

    /// Recomputes exactly the first `maxRows` rows of the queue (all of them when nil),
    /// on up to `threads` threads; a recomputed row that differs from empty is marked
    /// changed. Returns the rows recomputed and the rows still waiting.
    @discardableResult
    public mutating func refresh(itemNames: [String], threads: Int = 2, maxRows: Int?) -> (refreshed: Int, waiting: Int) {
        touchedUsers.removeAll()
        let chosen = stale.pop(maxRows ?? stale.count)
        // In blocks, so that only one block's computed rows exist beside the model's.
        let block = 1024 * max(1, threads)
        for start in stride(from: 0, to: chosen.count, by: block) {
            let part = Array(chosen[start..<min(chosen.count, start + block)])
            let exact = SwingScorer.rows(of: part, userItems: userItems, itemUsers: itemUsers, itemNames: itemNames,
                                         parameters: parameters, threads: threads)
            for (i, row) in zip(part, exact) {
                if rows[Int(i)].count > 0 || !row.isEmpty { changed.insert(i) }
                rows[Int(i)] = WeightRow(row)
            }
        }
        rowsRefreshed += chosen.count
        return (chosen.count, stale.count)
    }

    /// Replaces every row (kept ones) by exact batch Swing over the current interaction sets.
    public mutating func rebuild(itemNames: [String], threads: Int = 2, keeps: (UInt32) -> Bool = { _ in true }) {
        for i in itemUsers.indices where keeps(UInt32(i)) { stale.push(UInt32(i)) }
        refresh(itemNames: itemNames, threads: threads, maxRows: nil)
    }

    /// TTL expiry of a user: leaves the interaction sets; the rows of its items are
    /// queued (the terms it added leave them at their refresh).
    public mutating func removeUser(_ u: UInt32, keeps: (UInt32) -> Bool = { _ in true }) {
        guard Int(u) < userItems.count else { return }
        for i in userItems[Int(u)] {
            itemUsers[Int(i)].removeAll { $0 == u }
            if keeps(i) { stale.push(i) }
        }
        userItems[Int(u)] = []
    }

    /// TTL expiry of an item: leaves the interaction sets, its row and every other row;
    /// the rows of its users' items are queued (their weights and intersections change).
    public mutating func removeItem(_ i: UInt32, keeps: (UInt32) -> Bool = { _ in true }) {
        guard Int(i) < itemUsers.count else { return }
        for u in itemUsers[Int(i)] {
            userItems[Int(u)].removeAll { $0 == i }
            for other in userItems[Int(u)] where keeps(other) { stale.push(other) }
        }
        itemUsers[Int(i)] = []
        if rows[Int(i)].count > 0 {
            rows[Int(i)].forEach { o, _ in rows[Int(o)].remove(i); changed.insert(o) }
            rows[Int(i)] = WeightRow()
            changed.insert(i)
        }
    }

    /// Marks an item and every item whose row holds it as changed (rows are symmetric).
    public mutating func markNeighbourhoodChanged(_ i: UInt32) {
        guard Int(i) < rows.count else { return }
        changed.insert(i)
        rows[Int(i)].forEach { o, _ in changed.insert(o) }
    }

    public mutating func markAllChanged() { for i in rows.indices { changed.insert(UInt32(i)) } }

    /// Several workers: empties the rows `keeps` does not admit and takes them out of the
    /// refresh queue (a snapshot of a whole model, read by one worker).
    public mutating func dropForeignRows(keeps: (UInt32) -> Bool) {
        for i in rows.indices where !keeps(UInt32(i)) && rows[i].count > 0 { rows[i] = WeightRow() }
        let queued = stale.pop(stale.count)
        for i in queued where keeps(i) { stale.push(i) }
    }
    public mutating func clearChanges() { changed.removeAll() }
}

extension StreamingSwing {
    /// Writes the interaction sets, the score rows (streamed increments included), the
    /// refresh queue, the change marks and whether increments are on. The parameters are
    /// not written: the model checks them as a whole.
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(bool: incremental)
        encoder.write(arrays: userItems)
        encoder.write(arrays: itemUsers)
        encoder.write(parts: rows)
        encoder.write(part: changed)
        encoder.write(part: stale)
        encoder.write(part: touchedUsers)
        encoder.write(int: termsAdded)
        encoder.write(int: rowsRefreshed)
    }

    public init(from decoder: inout SnapshotDecoder, parameters: SwingParameters) throws(SnapshotError) {
        self.init(parameters: parameters)
        incremental = try decoder.readBool()
        userItems = try decoder.readArrays()
        itemUsers = try decoder.readArrays()
        rows = try decoder.readParts()
        changed = try decoder.readPart()
        stale = try decoder.readPart()
        touchedUsers = try decoder.readPart()
        termsAdded = try decoder.readInt()
        rowsRefreshed = try decoder.readInt()
    }
}
