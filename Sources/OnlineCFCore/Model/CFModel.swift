/// The in-process state of every co-occurrence algorithm, fed one event at a time.
///
/// Guarantees:
/// - Each (user, item) pair counts once, however often it repeats; so does each
///   (user, author) pair for a2a. Replaying events already applied changes nothing.
/// - The state is a pure function of the sequence of events applied (and the item →
///   author table), so replaying the same sequence rebuilds it exactly: this is how the
///   runtime restores it from the event log kept in the KV store.
/// - ``list(_:of:)`` is the formula of the algorithm over all events applied so far.
///
/// An item's author is the first one known for it: from its first event carrying an
/// author, or from the item table (``setAuthor(item:author:)``) if that came first.
public struct CFModel: Sendable {
    public let parameters: ModelParameters
    public private(set) var users = IdInterner()
    public private(set) var items = IdInterner()
    public private(set) var authors = IdInterner()
    private var itemAuthor: [UInt32] = []
    private var seenUserItem = Set<UInt64>()
    private var seenUserAuthor = Set<UInt64>()
    /// ItemCF: baskets are users, entities items.
    public private(set) var itemCF: CooccurrenceCounter?
    /// u2u: baskets are items, entities users.
    public private(set) var u2u: CooccurrenceCounter?
    /// a2a: baskets are users, entities authors.
    public private(set) var a2a: CooccurrenceCounter?
    /// Swing: interaction sets and score rows.
    public private(set) var swing: StreamingSwing?

    private static let noAuthor = UInt32.max

    public init(parameters: ModelParameters) {
        self.parameters = parameters
        let algos = parameters.algorithms
        if algos.contains(where: { $0.kind == .i2i && $0 != .swing }) { itemCF = CooccurrenceCounter(window: parameters.itemHistory) }
        if algos.contains(.swing) { swing = StreamingSwing(parameters: parameters.swing) }
        if algos.contains(.u2uCosine) { u2u = CooccurrenceCounter(window: parameters.userHistory) }
        if algos.contains(.a2aCosine) { a2a = CooccurrenceCounter(window: parameters.authorHistory) }
    }

    /// Number of distinct (user, item) pairs applied.
    public var pairCount: Int { seenUserItem.count }

    /// Sets the author of an item unless it already has one. Returns whether it was set.
    @discardableResult
    public mutating func setAuthor(item: String, author: String) -> Bool {
        let i = Int(items.intern(item))
        if i >= itemAuthor.count { itemAuthor.append(contentsOf: repeatElement(Self.noAuthor, count: i + 1 - itemAuthor.count)) }
        guard itemAuthor[i] == Self.noAuthor else { return false }
        itemAuthor[i] = authors.intern(author)
        return true
    }

    /// The author of an item, if known.
    public func author(ofItem item: String) -> String? {
        guard let i = items.index(of: item), Int(i) < itemAuthor.count, itemAuthor[Int(i)] != Self.noAuthor else { return nil }
        return authors.name(itemAuthor[Int(i)])
    }

    /// Applies one event. When its (user, item) pair is new, that is when the event
    /// changed the state, returns the event with the item's author filled in as used:
    /// the runtime logs exactly these events, and replaying them rebuilds the state.
    /// Returns nil for a repeat of a known pair.
    @discardableResult
    public mutating func apply(_ event: Event) -> Event? {
        let u = users.intern(event.user)
        let i = items.intern(event.item)
        if let author = event.author { setAuthor(item: event.item, author: author) }
        guard seenUserItem.insert(UInt64(u) << 32 | UInt64(i)).inserted else { return nil }
        itemCF?.addNewPair(basket: u, entity: i)
        u2u?.addNewPair(basket: i, entity: u)
        if swing != nil {
            let seen = seenUserItem
            swing!.addNewPair(user: u, item: i, holds: { v, x in seen.contains(UInt64(v) << 32 | UInt64(x)) })
        }
        var applied = event
        applied.author = nil
        if Int(i) < itemAuthor.count, itemAuthor[Int(i)] != Self.noAuthor {
            let a = itemAuthor[Int(i)]
            applied.author = authors.name(a)
            if a2a != nil, seenUserAuthor.insert(UInt64(u) << 32 | UInt64(a)).inserted {
                a2a!.addNewPair(basket: u, entity: a)
            }
        }
        return applied
    }

    private func counter(for algorithm: Algorithm) -> CooccurrenceCounter? {
        if algorithm == .swing { return nil }
        switch algorithm.kind {
        case .i2i: return itemCF
        case .u2u: return u2u
        case .a2a: return a2a
        }
    }

    /// The ids of the entities an algorithm lists (items, users or authors).
    public func names(for kind: ListKind) -> [String] {
        switch kind {
        case .i2i: return items.names
        case .u2u: return users.names
        case .a2a: return authors.names
        }
    }

    /// The sort keys of the ids of a kind (see ``IdInterner/sortKeys``).
    public func sortKeys(for kind: ListKind) -> [UInt64] {
        switch kind {
        case .i2i: return items.sortKeys
        case .u2u: return users.sortKeys
        case .a2a: return authors.sortKeys
        }
    }

    /// The index of an id of the given kind, if seen.
    public func index(of id: String, kind: ListKind) -> UInt32? {
        switch kind {
        case .i2i: return items.index(of: id)
        case .u2u: return users.index(of: id)
        case .a2a: return authors.index(of: id)
        }
    }

    /// The top-k list of `entity` under `algorithm`: best first, ties by neighbour id.
    public func list(_ algorithm: Algorithm, of entity: UInt32) -> [ScoredNeighbor] {
        var selector = TopKSelector(k: parameters.k, names: names(for: algorithm.kind), sortKeys: sortKeys(for: algorithm.kind))
        return list(algorithm, of: entity, using: &selector)
    }

    /// As ``list(_:of:)``, reusing a selector built for the algorithm's kind.
    public func list(_ algorithm: Algorithm, of entity: UInt32, using selector: inout TopKSelector) -> [ScoredNeighbor] {
        if algorithm == .swing {
            guard let swing, Int(entity) < swing.rows.count else { return [] }
            swing.rows[Int(entity)].forEach { other, score in selector.offer(other, score: score) }
            return selector.take()
        }
        guard let counter = counter(for: algorithm), let measure = algorithm.measure, Int(entity) < counter.entityCount else { return [] }
        let da = counter.degrees[Int(entity)]
        counter.degrees.withUnsafeBufferPointer { degrees in
            counter.rows[Int(entity)].forEach { other, c in
                selector.offer(other, score: measure.score(count: c, degreeA: da, degreeB: degrees[Int(other)]))
            }
        }
        return selector.take()
    }

    /// For each maintained algorithm, the entities whose list may have changed since the
    /// last ``clearChanges(full:)``: touched ones only, or all of them with `full` (see
    /// ``CooccurrenceCounter/changedEntities(normalised:full:)``).
    public func changedEntities(full: Bool) -> [(Algorithm, [UInt32])] {
        parameters.algorithms.sorted().compactMap { algorithm in
            if algorithm == .swing { return swing.map { (algorithm, $0.changed.members) } }
            guard let counter = counter(for: algorithm), let measure = algorithm.measure else { return nil }
            return (algorithm, counter.changedEntities(normalised: measure.isNormalised, full: full))
        }
    }

    public mutating func clearChanges(full: Bool) {
        itemCF?.clearChanges(full: full); u2u?.clearChanges(full: full); a2a?.clearChanges(full: full)
        swing?.clearChanges()
    }

    /// Turns Swing's per-event increments on or off (see ``StreamingSwing/incremental``).
    public mutating func setSwingIncremental(_ on: Bool) { swing?.incremental = on }

    /// Recomputes every Swing row exactly from the interaction sets.
    public mutating func rebuildSwing(threads: Int = 2) { swing?.rebuild(itemNames: items.names, threads: threads) }

    /// Marks every list as changed.
    public mutating func markAllChanged() {
        itemCF?.markAllChanged(); u2u?.markAllChanged(); a2a?.markAllChanged(); swing?.markAllChanged()
    }

    /// Pair increments applied so far, all counters together.
    public var pairUpdates: Int {
        (itemCF?.pairUpdates ?? 0) + (u2u?.pairUpdates ?? 0) + (a2a?.pairUpdates ?? 0)
    }
}
