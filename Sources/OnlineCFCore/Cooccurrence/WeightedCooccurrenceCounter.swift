/// Weighted co-occurrence of entities within baskets, maintained incrementally: the
/// counter behind ItemCF and u2u when action weights or time decay are on.
///
/// Each (basket, entity) pair has a value `v ≥ 0` (its weight, in forward-decayed form:
/// see ``ForwardDecay``) that ``set(basket:entity:value:)`` may change at any time. Then:
/// - `degree(e) = Σ_b v(b, e)`;
/// - `C(e, o) = Σ_b min(v(b, e), v(b, o))` over the baskets where `e` and `o` are *paired*:
///   fewer than `window + 1` positions apart in the basket's arrival order (any distance
///   when `window == 0`), positions being fixed when a pair first arrives.
///
/// With every value 1 this is exactly ``CooccurrenceCounter``. A value set to 0 (a
/// negative action) removes the pair's contribution exactly; the pair keeps its position,
/// so a later positive value restores it. Sums that cancel to within 1e-12 relative
/// become exactly 0.
///
/// ``remove(basket:entity:)`` (TTL expiry) takes a pair's contribution out exactly like a
/// value set to 0, then forgets the pair: added again, it arrives as a new pair at the end
/// of the basket. With `window == 0` positions do not matter and the slot is freed; with a
/// window the slot stays as a gap of value 0 (pairs across it are not re-paired) until the
/// whole basket is removed (``removeBasket(_:)``).
///
/// Foreign rows (several workers): an entity set with partition
/// ``ModelPartitioning/foreign`` has its degree like any other, but its row stays empty
/// and is never marked changed; kept rows are exactly what they would be with all rows
/// kept (as with ``CooccurrenceCounter``).
public struct WeightedCooccurrenceCounter: Sendable {
    public let window: Int
    public private(set) var degrees: [Double] = []
    public private(set) var rows: [WeightRow] = []
    private var members: [[UInt32]] = []
    private var values: [[Double]] = []
    private var position: [UInt64: UInt32] = [:]
    /// What changed since the last ``clearChanges(full:)``.
    public private(set) var changes = CooccurrenceChanges()
    public private(set) var pairUpdates: Int = 0
    /// Which rows are kept (all unless a partition was given as foreign).
    private var owners = RowOwners()

    public init(window: Int) {
        precondition(window >= 0)
        self.window = window
    }

    public var entityCount: Int { degrees.count }

    /// The value of a pair (0 when absent).
    public func value(basket: UInt32, entity: UInt32) -> Double {
        guard let p = position[UInt64(basket) << 32 | UInt64(entity)] else { return 0 }
        return values[Int(basket)][Int(p)]
    }

    /// Sets the value of (basket, entity), adding the pair when new; `partition` is the
    /// entity's (``ModelPartitioning/foreign``: its row is not kept).
    public mutating func set(basket: UInt32, entity: UInt32, value v: Double, partition: UInt8 = 0) {
        precondition(v >= 0 && v.isFinite)
        let e = Int(entity), b = Int(basket)
        if e >= degrees.count {
            degrees.append(contentsOf: repeatElement(0, count: e + 1 - degrees.count))
            rows.append(contentsOf: repeatElement(WeightRow(), count: e + 1 - rows.count))
        }
        if partition == ModelPartitioning.foreign || !owners.partitions.isEmpty {
            if e >= owners.partitions.count { owners.partitions.append(contentsOf: repeatElement(0, count: e + 1 - owners.partitions.count)) }
            owners.partitions[e] = partition
        }
        if b >= members.count {
            members.append(contentsOf: repeatElement([], count: b + 1 - members.count))
            values.append(contentsOf: repeatElement([], count: b + 1 - values.count))
        }
        let key = UInt64(basket) << 32 | UInt64(entity)
        let old: Double
        let p: Int
        if let known = position[key] {
            p = Int(known)
            old = values[b][p]
            if old == v { return }
            values[b][p] = v
        } else {
            p = members[b].count
            position[key] = UInt32(p)
            members[b].append(entity)
            values[b].append(v)
            old = 0
        }
        revalue(basket: b, at: p, entity: entity, from: old, to: v, droppingZeros: false)
    }

    /// Moves the pair at position `p` of basket `b` from value `old` to `new`: the entity's
    /// degree changes by the difference, and its co-occurrence with every pair `q` of the
    /// basket within the window by `min(new, v_q) − min(old, v_q)`, in both rows.
    /// `droppingZeros`: entries that reach 0 leave the rows.
    private mutating func revalue(basket b: Int, at p: Int, entity: UInt32, from old: Double, to new: Double, droppingZeros: Bool) {
        let e = Int(entity)
        let newDegree = degrees[e] + (new - old)
        degrees[e] = abs(newDegree) <= 1e-12 * max(abs(degrees[e]), abs(new - old)) ? 0 : newDegree
        changes.degree(entity)
        let count = members[b].count
        let lower = window > 0 ? max(0, p - window) : 0
        let upper = window > 0 ? min(count - 1, p + window) : count - 1
        var touched = false
        let keepsOwn = owners.keeps(entity)
        for q in lower...upper where q != p {
            let vo = values[b][q]
            let delta = min(new, vo) - min(old, vo)
            if delta == 0 { continue }
            let o = members[b][q]
            if keepsOwn {
                rows[e].addSnappingToZero(o, delta)
                if droppingZeros && rows[e].value(of: o) == 0 { rows[e].remove(o) }
            }
            if owners.keeps(o) {
                rows[Int(o)].addSnappingToZero(entity, delta)
                if droppingZeros && rows[Int(o)].value(of: entity) == 0 { rows[Int(o)].remove(entity) }
                changes.row(o)
            }
            touched = true
            pairUpdates += 1
        }
        if touched && keepsOwn { changes.row(entity) }
    }

    /// Removes the pair (basket, entity) if present: its contribution to the entity's
    /// degree and to every co-occurrence count leaves exactly (as with value 0), and
    /// co-occurrence entries that reach 0 are dropped.
    public mutating func remove(basket: UInt32, entity: UInt32) {
        guard let known = position.removeValue(forKey: UInt64(basket) << 32 | UInt64(entity)) else { return }
        let b = Int(basket), p = Int(known)
        let v = values[b][p]
        if v != 0 { revalue(basket: b, at: p, entity: entity, from: v, to: 0, droppingZeros: true) }
        if window == 0 {
            // Positions do not matter: move the last pair into the freed slot.
            let last = members[b].count - 1
            if p != last {
                members[b][p] = members[b][last]
                values[b][p] = values[b][last]
                position[UInt64(basket) << 32 | UInt64(members[b][p])] = UInt32(p)
            }
            members[b].removeLast(); values[b].removeLast()
        } else {
            values[b][p] = 0
        }
    }

    /// Removes every pair of a basket and frees it (an added pair then starts at position 0).
    public mutating func removeBasket(_ basket: UInt32) {
        let b = Int(basket)
        guard b < members.count else { return }
        if window == 0 {
            for e in members[b].reversed() { remove(basket: basket, entity: e) }
        } else {
            for (p, e) in members[b].enumerated() where position[UInt64(basket) << 32 | UInt64(e)] == UInt32(p) {
                remove(basket: basket, entity: e)
            }
        }
        members[b] = []; values[b] = []
    }

    /// After every pair of an entity is removed: drops any rounding residue of its degree
    /// and row (and its entries in its neighbours' rows), marking them changed.
    public mutating func clearEntity(_ entity: UInt32) {
        let e = Int(entity)
        guard e < rows.count else { return }
        if rows[e].count > 0 {
            rows[e].forEach { o, _ in rows[Int(o)].remove(entity); changes.row(o) }
            rows[e] = WeightRow()
            changes.row(entity)
        }
        if degrees[e] != 0 { degrees[e] = 0; changes.degree(entity) }
    }

    /// Multiplies every value, degree and count by `factor` (a forward-decay landmark move).
    public mutating func scale(by factor: Double) {
        for i in degrees.indices { degrees[i] *= factor }
        for i in rows.indices { rows[i].scale(by: factor) }
        for b in values.indices { for q in values[b].indices { values[b][q] *= factor } }
    }

    /// As ``CooccurrenceCounter/changedEntities(normalised:full:)``.
    public func changedEntities(normalised: Bool, full: Bool) -> [UInt32] {
        let foreign: ((UInt32) -> Bool)? = owners.partitions.isEmpty ? nil : { [owners] e in !owners.keeps(e) }
        return changes.entities(normalised: normalised, full: full, rowCount: rows.count, isForeign: foreign) { e, body in
            rows[Int(e)].forEach { o, _ in body(o) }
        }
    }

    /// Marks an entity and every entity it co-occurs with as changed (for a foreign
    /// entity, the kept rows holding it).
    public mutating func markNeighbourhoodChanged(_ e: UInt32) {
        guard Int(e) < rows.count else { return }
        changes.row(e)
        if !owners.keeps(e) {
            for x in rows.indices where rows[x].value(of: e) != 0 { changes.row(UInt32(x)) }
        } else {
            rows[Int(e)].forEach { o, _ in changes.row(o) }
        }
    }

    /// Several workers: records each entity's partition (`partition(e)`) and empties the
    /// rows of foreign ones (a snapshot of a whole model, read by one worker).
    public mutating func dropForeignRows(partition: (UInt32) -> UInt8) {
        owners.partitions = (0..<degrees.count).map { partition(UInt32($0)) }
        for e in rows.indices where !owners.keeps(UInt32(e)) && rows[e].count > 0 { rows[e] = WeightRow() }
    }

    public mutating func markAllChanged() { changes.markAll(count: degrees.count) }

    public mutating func clearChanges(full: Bool) { changes.clear(full: full) }
}

extension WeightedCooccurrenceCounter: SnapshotCodable {
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(int: window)
        encoder.write(array: degrees)
        encoder.write(parts: rows)
        encoder.write(arrays: members)
        encoder.write(arrays: values)
        encoder.write(array: Array(position.keys))
        encoder.write(array: Array(position.values))
        encoder.write(part: changes)
        encoder.write(int: pairUpdates)
    }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        let window = try decoder.readInt()
        guard window >= 0 else { throw SnapshotError("a co-occurrence window of \(window) in the snapshot: it is damaged") }
        self.init(window: window)
        degrees = try decoder.readArray()
        rows = try decoder.readParts()
        members = try decoder.readArrays()
        values = try decoder.readArrays()
        let keys: [UInt64] = try decoder.readArray(), positions: [UInt32] = try decoder.readArray()
        guard keys.count == positions.count, members.count == values.count, rows.count == degrees.count else {
            throw SnapshotError("a weighted co-occurrence counter of the snapshot is inconsistent: it is damaged")
        }
        position = Dictionary(uniqueKeysWithValues: zip(keys, positions))
        changes = try decoder.readPart()
        pairUpdates = try decoder.readInt()
    }
}
