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
///
/// With recall on (``ModelParameters/recall``), every event also updates the user's
/// recent items (``RecentInteractions``), so every event changes the state and is
/// returned by ``apply(_:)``. Blocked items (``setBlocked(item:_:)``) never appear in an
/// i2i or recall list and have an empty list of their own.
///
/// TTL expiry (``ModelParameters/ttlMillis``): the expiry clock is the latest time of an
/// applied event (so replaying the logged events reproduces it). Before an event that
/// moves it to `T` is applied, every user and item whose latest applied event is older
/// than `T − ttl` expires: each of its (user, item) pairs is removed from ItemCF and u2u
/// (their counters take a pair's contribution out exactly: removable binary counters, or
/// weighted ones with action weights or decay), from Swing's
/// interaction sets (an expired item also leaves every Swing row; the rows an expiry
/// changes are queued for an exact refresh) and from the recent
/// items of recall. An id that comes back starts from scratch. a2a (authors) is not
/// covered, and admission is not repeated.
///
/// Co-occurrence lists (ItemCF, u2u, a2a) are evaluated one of two ways
/// (``CooccurrenceEvaluation``): incrementally, each new pair updating counters so that a
/// list can be read after any event (streaming), or deferred, new pairs only recorded and
/// every list computed at once by ``computeDeferredLists(threads:)`` as a sparse product
/// on every core (a batch). Both give the same lists (binary counts bit for bit).
public struct CFModel: Sendable {
    public let parameters: ModelParameters
    /// How co-occurrence lists are computed here (``CooccurrenceEvaluation/deferred`` is
    /// taken only without a TTL, whose expiry needs the incremental counters).
    public let evaluation: CooccurrenceEvaluation
    /// How the binary co-occurrence rows (ItemCF, u2u, a2a) are divided between threads
    /// (``ModelPartitioning``). With more than one partition, row increments are queued
    /// per partition and applied by ``applyPendingPairs()`` (the runtime calls it after
    /// each micro-batch of events; lists must not be read before). Weighted counters,
    /// Swing and recall are advanced on the calling thread.
    public let partitioning: ModelPartitioning
    /// The partition of each item, user and author index, filled as ids arrive
    /// (``ModelPartitioning/foreign`` for a row another worker keeps).
    private var itemOwners = RowOwners(), userOwners = RowOwners(), authorOwners = RowOwners()
    public private(set) var users = IdInterner()
    public private(set) var items = IdInterner()
    public private(set) var authors = IdInterner()
    private var itemAuthor: [UInt32] = []
    /// The (user, item) and (user, author) pairs seen. With a bounded ItemCF (a2a) window
    /// and nothing ever removed (``itemWindowDedupe``, ``authorWindowDedupe``), a user's
    /// pairs still in the window are not repeated here: the set holds those that left it,
    /// and a pair is known when it is in either — the same answer in about a third of the
    /// memory, since most users' histories fit their window.
    private var seenUserItem = PairSet()
    private var seenUserAuthor = PairSet()
    private let itemWindowDedupe: Bool, authorWindowDedupe: Bool
    /// Distinct (user, item) pairs applied (kept when ``itemWindowDedupe``).
    private var pairsSeen = 0
    /// ItemCF: baskets are users, entities items.
    public private(set) var itemCF: CooccurrenceCounter?
    /// u2u: baskets are items, entities users.
    public private(set) var u2u: CooccurrenceCounter?
    /// a2a: baskets are users, entities authors.
    public private(set) var a2a: CooccurrenceCounter?
    /// ItemCF and u2u when weighted (``ModelParameters/isWeighted``), in place of the above.
    public private(set) var weightedItemCF: WeightedCooccurrenceCounter?
    public private(set) var weightedU2U: WeightedCooccurrenceCounter?
    /// Weighted mode: each (user, item) pair's weight and the time of its latest event.
    private var pairStates: [UInt64: (weight: Double, atMillis: Int64)] = [:]
    private var decay: ForwardDecay?
    /// The latest event time seen.
    public private(set) var watermarkMillis: Int64 = 0
    /// Frequency admission: occurrences of ids not yet admitted (nil when off).
    public private(set) var admissionSketch: CountMinSketch?
    private var admittedItem: [Bool] = []
    /// Events left out because their user or item was not admitted yet.
    public private(set) var eventsBeforeAdmission = 0
    /// Hot-user guard: each user's current window and its count of counted events.
    private var hotWindow: [Int64] = [], hotCount: [Int] = []
    /// Events left out by the hot-user guard.
    public private(set) var hotUserEvents = 0
    /// Swing: interaction sets and score rows.
    public private(set) var swing: StreamingSwing?
    /// Recall: each user's recent items.
    public private(set) var recent: RecentInteractions?
    /// The `popular` list's counts (u2i2i's fallback).
    public private(set) var popular: PopularItems?
    private var blocked: [Bool] = []
    /// Set when the blocked items changed: every recall list is then recomputed.
    private var blockedChanged = false
    /// TTL expiry: the expiry clock (latest time of an applied event), ids' latest events,
    /// and the live pairs of each id.
    public private(set) var ttlClockMillis = Int64.min
    private var idle = IdleTracker()
    private var livePairs = PairAdjacency()
    /// Users and items expired so far.
    public private(set) var expiredUsers = 0, expiredItems = 0

    /// Deferred evaluation: the new (user, item) and (user, author) pairs in arrival order,
    /// and the lists computed from them.
    private var deferredPairs = PairSequence()
    private var deferredAuthorPairs = PairSequence()
    private var deferredLists: [Algorithm: [[ScoredNeighbor]]] = [:]
    private var deferredListsUnemitted = false
    private let maintainsA2A: Bool

    private static let noAuthor = UInt32.max

    public init(parameters: ModelParameters, evaluation: CooccurrenceEvaluation = .incremental,
                partitioning: ModelPartitioning = .single) {
        self.parameters = parameters
        self.partitioning = partitioning
        let algos = parameters.algorithms
        maintainsA2A = algos.contains(.a2aCosine)
        self.evaluation = parameters.ttlMillis == nil ? evaluation : .incremental
        // The windows serve as dedupe only where they are the binary counters' and nothing
        // leaves them but by the bound (no TTL); Swing asks about any pair, so it keeps the
        // whole set.
        let windowsServe = self.evaluation == .incremental && parameters.ttlMillis == nil
        itemWindowDedupe = windowsServe && !parameters.isWeighted && parameters.itemHistory > 0 && !algos.contains(.swing)
            && algos.contains(where: { $0.kind == .i2i && $0 != .swing })
        authorWindowDedupe = windowsServe && maintainsA2A && parameters.authorHistory > 0
        decay = parameters.decayHalfLifeMillis.map { ForwardDecay(halfLifeMillis: $0) }
        if parameters.admitAfter > 1 { admissionSketch = CountMinSketch() }
        if algos.contains(.swing) { swing = StreamingSwing(parameters: parameters.swing) }
        if let r = parameters.recall { recent = RecentInteractions(capacity: r.recentItems, halfLifeMillis: r.halfLifeMillis) }
        if let p = parameters.popular { popular = PopularItems(parameters: p) }
        guard self.evaluation == .incremental else { return }
        let weighted = parameters.isWeighted, removable = parameters.ttlMillis != nil, drops = partitioning.workers.isShared
        if algos.contains(where: { $0.kind == .i2i && $0 != .swing }) {
            if weighted { weightedItemCF = WeightedCooccurrenceCounter(window: parameters.itemHistory) } else { itemCF = CooccurrenceCounter(window: parameters.itemHistory, partitions: partitioning.count, removable: removable, dropsForeignRows: drops) }
        }
        if algos.contains(.u2uCosine) {
            if weighted { weightedU2U = WeightedCooccurrenceCounter(window: parameters.userHistory) } else { u2u = CooccurrenceCounter(window: parameters.userHistory, partitions: partitioning.count, removable: removable, dropsForeignRows: drops) }
        }
        if maintainsA2A { a2a = CooccurrenceCounter(window: parameters.authorHistory, partitions: partitioning.count, dropsForeignRows: drops) }
    }

    /// Number of distinct (user, item) pairs applied.
    public var pairCount: Int { itemWindowDedupe ? pairsSeen : seenUserItem.count }

    /// Whether user `u` holds item `i` (see ``seenUserItem``).
    @inline(__always)
    private func knows(user u: UInt32, item i: UInt32) -> Bool {
        if itemWindowDedupe && itemCF!.windowHolds(basket: u, entity: i) { return true }
        return seenUserItem.contains(UInt64(u) << 32 | UInt64(i))
    }

    /// Records a new (user, item) pair before the counters see it.
    @inline(__always)
    private mutating func noteNewPair(user u: UInt32, item i: UInt32) {
        if itemWindowDedupe {
            for out in itemCF!.leavingWindow(basket: u) { seenUserItem.insert(UInt64(u) << 32 | UInt64(out)) }
            pairsSeen += 1
        } else {
            seenUserItem.insert(UInt64(u) << 32 | UInt64(i))
        }
    }

    /// Records (user, author) unless known; returns whether it was new.
    @inline(__always)
    private mutating func noteAuthorPair(user u: UInt32, author a: UInt32) -> Bool {
        let key = UInt64(u) << 32 | UInt64(a)
        guard authorWindowDedupe else { return seenUserAuthor.insert(key) }
        if a2a!.windowHolds(basket: u, entity: a) || seenUserAuthor.contains(key) { return false }
        for out in a2a!.leavingWindow(basket: u) { seenUserAuthor.insert(UInt64(u) << 32 | UInt64(out)) }
        return true
    }

    /// Sets the author of an item unless it already has one. Returns whether it was set.
    @discardableResult
    public mutating func setAuthor(item: String, author: String) -> Bool {
        let i = Int(items.intern(item))
        if i >= itemAuthor.count { itemAuthor.append(contentsOf: repeatElement(Self.noAuthor, count: i + 1 - itemAuthor.count)) }
        guard itemAuthor[i] == Self.noAuthor else { return false }
        itemAuthor[i] = authors.intern(author)
        return true
    }

    /// The author of an item index, if known.
    public func author(of item: UInt32) -> String? {
        guard Int(item) < itemAuthor.count, itemAuthor[Int(item)] != Self.noAuthor else { return nil }
        return authors.name(itemAuthor[Int(item)])
    }

    /// Gives item ids indices in this order before any event (for callers that number
    /// items themselves, such as the replay evaluator). Interning admits nothing.
    public mutating func reserveItems(_ names: [String]) {
        for name in names { _ = items.intern(name) }
    }

    /// Whether an item index is blocked (see ``setBlocked(item:_:)``).
    @inline(__always)
    public func isBlocked(_ item: UInt32) -> Bool { Int(item) < blocked.count && blocked[Int(item)] }

    /// Blocks an item (it leaves every i2i and recall list, its own list empties) or
    /// unblocks it; marks every list it may be in or come back to as changed.
    public mutating func setBlocked(item: String, _ on: Bool) {
        let i = items.intern(item)
        if Int(i) >= blocked.count { blocked.append(contentsOf: repeatElement(false, count: Int(i) + 1 - blocked.count)) }
        guard blocked[Int(i)] != on else { return }
        blocked[Int(i)] = on
        itemCF?.markNeighbourhoodChanged(i)
        weightedItemCF?.markNeighbourhoodChanged(i)
        swing?.markNeighbourhoodChanged(i)
        popular?.markChanged()
        blockedChanged = true
    }

    /// The item ids blocked now.
    public var blockedItems: [String] { blocked.indices.filter { blocked[$0] }.map { items.names[$0] } }

    /// The author of an item, if known.
    public func author(ofItem item: String) -> String? {
        guard let i = items.index(of: item), Int(i) < itemAuthor.count, itemAuthor[Int(i)] != Self.noAuthor else { return nil }
        return authors.name(itemAuthor[Int(i)])
    }

    /// Applies one event. When it changed the state (its (user, item) pair is new, or
    /// recall is on), returns the event with the item's author filled in as used: the
    /// runtime logs exactly these events, and replaying them rebuilds the state.
    /// Returns nil for a repeat of a known pair when recall is off.
    /// `replaying`: the event comes from the event log, so it was admitted and counted by
    /// the hot-user guard when first applied; admission is not checked again (the sketch
    /// is restored separately, see ``restoreAdmissionSketch(_:)``).
    @discardableResult
    public mutating func apply(_ event: Event, replaying: Bool = false) -> Event? {
        if let t = event.timestampMillis, t > watermarkMillis { watermarkMillis = t }
        if admissionSketch != nil && !replaying && !admits(event) {
            eventsBeforeAdmission += 1
            return nil
        }
        let u = users.intern(event.user)
        let i = items.intern(event.item)
        if admissionSketch != nil {
            if Int(i) >= admittedItem.count { admittedItem.append(contentsOf: repeatElement(false, count: Int(i) + 1 - admittedItem.count)) }
            admittedItem[Int(i)] = true
        }
        var changed = false
        if let limit = parameters.hotUserLimit, recent != nil || parameters.isWeighted || parameters.ttlMillis != nil || !knows(user: u, item: i) {
            // Only events that change the state count (those are the ones the log holds,
            // so a replay counts the same).
            let window = (event.timestampMillis ?? watermarkMillis) / parameters.hotUserWindowMillis
            if Int(u) >= hotWindow.count {
                hotWindow.append(contentsOf: repeatElement(Int64.min, count: Int(u) + 1 - hotWindow.count))
                hotCount.append(contentsOf: repeatElement(0, count: Int(u) + 1 - hotCount.count))
            }
            if hotWindow[Int(u)] != window { hotWindow[Int(u)] = window; hotCount[Int(u)] = 0 }
            hotCount[Int(u)] += 1
            if hotCount[Int(u)] > limit {
                hotUserEvents += 1
                return nil
            }
            changed = true
        }
        if let ttl = parameters.ttlMillis {
            let t = event.timestampMillis ?? max(ttlClockMillis, 0)
            if t > ttlClockMillis {
                ttlClockMillis = t
                changed = true
                expireIdle(before: t > Int64.min + ttl ? t - ttl : Int64.min)
            }
            if idle.touch(.user, u, at: t) { changed = true }
            if idle.touch(.item, i, at: t) { changed = true }
            livePairs.insert(user: u, item: i)
        }
        if let author = event.author { setAuthor(item: event.item, author: author) }
        if recent != nil {
            recent!.record(user: u, item: i, weight: (parameters.actionWeights ?? ActionWeights()).weight(of: event.action), atMillis: event.timestampMillis)
            changed = true
        }
        if parameters.isWeighted, applyWeight(user: u, item: i, event) { changed = true }
        if !knows(user: u, item: i) {
            noteNewPair(user: u, item: i)
            changed = true
            if popular != nil { popular!.add(item: i, atMillis: event.timestampMillis ?? watermarkMillis) }
            if evaluation == .deferred { deferredPairs.append(basket: u, entity: i) }
            if itemCF != nil { itemCF!.addNewPair(basket: u, entity: i, partition: partition(ofItem: i)) }
            if u2u != nil { u2u!.addNewPair(basket: i, entity: u, partition: partition(ofUser: u)) }
            if swing != nil {
                let seen = seenUserItem
                if partitioning.workers.isShared {
                    let owners = keptItems()
                    swing!.addNewPair(user: u, item: i, holds: { v, x in seen.contains(UInt64(v) << 32 | UInt64(x)) }, keeps: { owners.keeps($0) })
                } else {
                    swing!.addNewPair(user: u, item: i, holds: { v, x in seen.contains(UInt64(v) << 32 | UInt64(x)) })
                }
            }
            if maintainsA2A, Int(i) < itemAuthor.count, itemAuthor[Int(i)] != Self.noAuthor,
               noteAuthorPair(user: u, author: itemAuthor[Int(i)]) {
                if evaluation == .deferred { deferredAuthorPairs.append(basket: u, entity: itemAuthor[Int(i)]) }
                if a2a != nil { a2a!.addNewPair(basket: u, entity: itemAuthor[Int(i)], partition: partition(ofAuthor: itemAuthor[Int(i)])) }
            }
        }
        guard changed else { return nil }
        var applied = event
        applied.author = author(of: i)
        return applied
    }

    /// The partitions of ids by index, computed once per id (0 when rows are not routed;
    /// ``ModelPartitioning/foreign`` for another worker's row).
    @inline(__always)
    private mutating func partition(ofItem i: UInt32) -> Int {
        guard partitioning.routesRows else { return 0 }
        Self.fill(&itemOwners, upTo: i, names: items.names, partitioning)
        return Int(itemOwners.partitions[Int(i)])
    }

    @inline(__always)
    private mutating func partition(ofUser u: UInt32) -> Int {
        guard partitioning.routesRows else { return 0 }
        Self.fill(&userOwners, upTo: u, names: users.names, partitioning)
        return Int(userOwners.partitions[Int(u)])
    }

    @inline(__always)
    private mutating func partition(ofAuthor a: UInt32) -> Int {
        guard partitioning.routesRows else { return 0 }
        Self.fill(&authorOwners, upTo: a, names: authors.names, partitioning)
        return Int(authorOwners.partitions[Int(a)])
    }

    /// Which items' rows this process keeps (every one for a job alone), filled for every
    /// item seen.
    private mutating func keptItems() -> RowOwners {
        if partitioning.workers.isShared && items.count > 0 { _ = partition(ofItem: UInt32(items.count - 1)) }
        return itemOwners
    }

    private static func fill(_ owners: inout RowOwners, upTo index: UInt32, names: [String], _ partitioning: ModelPartitioning) {
        while owners.partitions.count <= Int(index) { owners.partitions.append(partitioning.partition(of: names[owners.partitions.count])) }
    }

    /// Whether this process keeps the row of an entity of `kind` (several workers: the
    /// ids its worker owns; a job alone keeps every row).
    public func keepsRow(_ kind: ListKind, _ index: UInt32) -> Bool {
        guard partitioning.workers.isShared else { return true }
        switch kind {
        case .i2i: return partitioning.keeps(items.names[Int(index)])
        case .u2u: return partitioning.keeps(users.names[Int(index)])
        case .a2a: return partitioning.keeps(authors.names[Int(index)])
        }
    }

    /// Whether row increments are queued in some partition (see ``partitioning``).
    public var hasPendingPairs: Bool { itemCF?.hasPending == true || u2u?.hasPending == true || a2a?.hasPending == true }

    /// Applies the row increments queued since the last call, every partition on its own
    /// thread. Call after a micro-batch of events, before any list is read.
    public mutating func applyPendingPairs() {
        itemCF?.applyPending(); u2u?.applyPending(); a2a?.applyPending()
    }

    /// Frequency admission: counts the event's user and item if they are not admitted yet
    /// and tells whether both are (an id is admitted at the event that brings its count to
    /// ``ModelParameters/admitAfter``).
    private mutating func admits(_ event: Event) -> Bool {
        let n = parameters.admitAfter
        var ok = true
        if users.index(of: event.user) == nil, admissionSketch!.add(event.user) < n { ok = false }
        let known = items.index(of: event.item).map { Int($0) < admittedItem.count && admittedItem[Int($0)] } ?? false
        if !known, admissionSketch!.add(event.item) < n { ok = false }
        return ok
    }

    /// TTL expiry: expires every live id whose latest event is before `cutoff`.
    private mutating func expireIdle(before cutoff: Int64) {
        for (kind, id) in idle.popIdle(before: cutoff) {
            switch kind {
            case .user: expireUser(id)
            case .item: expireItem(id)
            }
        }
    }

    private mutating func expireUser(_ u: UInt32) {
        expiredUsers += 1
        for i in livePairs.items(of: u) {
            livePairs.remove(user: u, item: i)
            forgetPair(UInt64(u) << 32 | UInt64(i))
            weightedU2U?.remove(basket: i, entity: u)
            u2u?.remove(basket: i, entity: u)
        }
        weightedItemCF?.removeBasket(u)
        itemCF?.removeBasket(u)
        weightedU2U?.clearEntity(u)
        let keptForUser = keptItems()
        swing?.removeUser(u, keeps: keptForUser.keeps)
        recent?.removeUser(u)
    }

    private mutating func expireItem(_ i: UInt32) {
        expiredItems += 1
        for u in livePairs.users(of: i) {
            livePairs.remove(user: u, item: i)
            forgetPair(UInt64(u) << 32 | UInt64(i))
            weightedItemCF?.remove(basket: u, entity: i)
            itemCF?.remove(basket: u, entity: i)
            recent?.removeItem(i, of: u)
        }
        popular?.remove(item: i)
        weightedItemCF?.clearEntity(i)
        weightedU2U?.removeBasket(i)
        u2u?.removeBasket(i)
        let keptForItem = keptItems()
        swing?.removeItem(i, keeps: keptForItem.keeps)
    }

    private mutating func forgetPair(_ key: UInt64) {
        seenUserItem.remove(key)
        pairStates[key] = nil
    }

    /// TTL expiry: the latest applied event time of a live user or item (nil when it is
    /// not live: never seen, or expired).
    /// TTL expiry: whether an entity of a list kind has expired (it then has no list of
    /// its own; false without a TTL, and for authors, which do not expire).
    public func hasExpired(_ kind: ListKind, _ index: UInt32) -> Bool {
        guard parameters.ttlMillis != nil else { return false }
        switch kind {
        case .i2i: return idle.lastSeen(.item, index) == nil
        case .u2u: return idle.lastSeen(.user, index) == nil
        case .a2a: return false
        }
    }

    public func lastSeen(user: String) -> Int64? { users.index(of: user).flatMap { idle.lastSeen(.user, $0) } }
    public func lastSeen(item: String) -> Int64? { items.index(of: item).flatMap { idle.lastSeen(.item, $0) } }

    /// Puts back the admission sketch checkpointed with the state.
    public mutating func restoreAdmissionSketch(_ sketch: CountMinSketch) {
        if admissionSketch != nil { admissionSketch = sketch }
    }

    /// Weighted mode: updates the pair's weight (the largest positive action weight since
    /// its last negative action, 0 after a negative one) and time (its latest positive
    /// event), and its value `weight · g(time)` in the weighted counters. Returns whether
    /// anything changed.
    private mutating func applyWeight(user u: UInt32, item i: UInt32, _ event: Event) -> Bool {
        let w = (parameters.actionWeights ?? ActionWeights()).weight(of: event.action)
        let t = event.timestampMillis ?? watermarkMillis
        let key = UInt64(u) << 32 | UInt64(i)
        let old = pairStates[key]
        let weight = w < 0 ? 0 : max(old?.weight ?? 0, w)
        let at = w < 0 ? (old?.atMillis ?? t) : max(old?.atMillis ?? t, t)
        if let old, old.weight == weight, old.atMillis == at { return false }
        pairStates[key] = (weight, at)
        var value = weight
        if decay != nil {
            if let factor = decay!.rescaleFactor(for: at) {
                weightedItemCF?.scale(by: factor); weightedU2U?.scale(by: factor)
            }
            value *= decay!.growth(at: at)
        }
        let (itemPartition, userPartition) = (UInt8(partition(ofItem: i)), UInt8(partition(ofUser: u)))
        weightedItemCF?.set(basket: u, entity: i, value: value, partition: itemPartition)
        weightedU2U?.set(basket: i, entity: u, value: value, partition: userPartition)
        return true
    }

    private func weightedCounter(for algorithm: Algorithm) -> WeightedCooccurrenceCounter? {
        if algorithm == .swing { return nil }
        switch algorithm.kind {
        case .i2i: return weightedItemCF
        case .u2u: return weightedU2U
        case .a2a: return nil
        }
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
        assert(!hasPendingPairs, "a list read with row increments pending: call applyPendingPairs() first")
        let filtering = algorithm.kind == .i2i && !blocked.isEmpty
        if filtering && isBlocked(entity) { return [] }
        if let lists = deferredLists[algorithm] { return Int(entity) < lists.count ? lists[Int(entity)] : [] }
        if algorithm == .swing {
            guard let swing, Int(entity) < swing.rows.count else { return [] }
            if filtering {
                swing.rows[Int(entity)].forEach { other, score in if !isBlocked(other) { selector.offer(other, score: score) } }
            } else {
                swing.rows[Int(entity)].forEach { other, score in selector.offer(other, score: score) }
            }
            return selector.take()
        }
        if let weighted = weightedCounter(for: algorithm) {
            guard let measure = algorithm.measure, Int(entity) < weighted.entityCount else { return [] }
            // Forward-decayed sums times 2^(−(now − L)/h); cosine and jaccard do not depend
            // on that common factor, so they take the stored sums as they are.
            let f = measure.isScaleInvariant ? 1 : (decay?.factor(at: watermarkMillis) ?? 1)
            let da = weighted.degrees[Int(entity)] * f
            weighted.degrees.withUnsafeBufferPointer { degrees in
                weighted.rows[Int(entity)].forEach { other, c in
                    if filtering && isBlocked(other) { return }
                    selector.offer(other, score: measure.weightedScore(count: c * f, degreeA: da, degreeB: degrees[Int(other)] * f))
                }
            }
            return selector.take()
        }
        guard let counter = counter(for: algorithm), let measure = algorithm.measure, Int(entity) < counter.entityCount else { return [] }
        let da = Double(counter.degrees[Int(entity)])
        counter.degrees.withUnsafeBufferPointer { degrees in
            counter.rows[Int(entity)].forEach { other, count in
                if filtering && isBlocked(other) { return }
                let c = Double(count), db = Double(degrees[Int(other)])
                // Once k are kept, most entries of a long row cannot enter: reject them
                // without the division (an entry that may enter is scored as always).
                let bound = selector.threshold
                if bound > 0 && measure.scoreIsCertainlyBelow(bound, count: c, degreeA: da, degreeB: db) { return }
                selector.offer(other, score: measure.weightedScore(count: c, degreeA: da, degreeB: db))
            }
        }
        return selector.take()
    }

    /// The lists of `entities` under `algorithm`, as ``list(_:of:)`` gives them, computed
    /// on up to `threads` threads. Entities are handed out in blocks; each list is computed
    /// by one thread from the model as it is, so the result does not depend on the count.
    public func lists(_ algorithm: Algorithm, of entities: ArraySlice<UInt32>, threads: Int) -> [[ScoredNeighbor]] {
        let model = self, base = entities.startIndex
        return ParallelMap.map(count: entities.count, threads: threads) { p in
            model.list(algorithm, of: entities[base + p])
        }
    }

    /// A user's recent items → seed weight as of the latest event time (for the
    /// `recent` family), heaviest first, ties by item id.
    public func recentList(of user: UInt32) -> [ScoredNeighbor] {
        guard let recent else { return [] }
        var list = recent.seeds(of: user, nowMillis: recent.watermarkMillis).map { ScoredNeighbor(index: $0.item, score: $0.weight) }
        list.sort { $0.score != $1.score ? $0.score > $1.score : items.names[Int($0.index)].utf8Precedes(items.names[Int($1.index)]) }
        return list
    }

    /// A user's u2i2i recall from their recent items through the maintained i2i lists
    /// (``RecallParameters``). `cache` keeps lists computed for other users of the same
    /// emission; the caller empties it when the model changes.
    public func recallList(of user: UInt32, composer: inout U2I2IComposer, cache: inout [Algorithm: [UInt32: [ScoredNeighbor]]]) -> [ScoredNeighbor] {
        guard let recent else { return [] }
        let seeds = recent.seeds(of: user, nowMillis: recent.watermarkMillis)
        let names = items.names
        let blend = composer.blend
        let ranked = composer.rank(seeds: seeds, names: names) { part, seed in
            let algorithm = blend.parts[part].algorithm
            if let hit = cache[algorithm]?[seed] { return hit }
            let list = self.list(algorithm, of: seed)
            cache[algorithm, default: [:]][seed] = list
            return list
        }
        let seen = Set(recent.items(of: user))
        let userName = users.names[Int(user)]
        return composer.select(ranked, user: userName, seen: { seen.contains($0) }, blocked: { self.isBlocked($0) },
                               author: { self.author(of: $0) }).map { ScoredNeighbor(index: $0.item, score: $0.score) }
    }

    /// The `popular` list as of the latest event time: the most popular items, blocked
    /// ones left out (empty when the list is off).
    public func popularList() -> [ScoredNeighbor] {
        guard let popular else { return [] }
        return popular.top(names: items.names, sortKeys: items.sortKeys, excluded: { self.isBlocked($0) })
    }

    /// For each maintained algorithm, the entities whose list may have changed since the
    /// last ``clearChanges(full:)``: touched ones only, or all of them with `full` (see
    /// ``CooccurrenceCounter/changedEntities(normalised:full:)``).
    public func changedEntities(full: Bool) -> [(ListFamily, [UInt32])] {
        var out: [(ListFamily, [UInt32])] = parameters.algorithms.sorted().compactMap { algorithm in
            if algorithm == .swing { return swing.map { (.algorithm(algorithm), $0.changed.members) } }
            if evaluation == .deferred {
                guard deferredListsUnemitted, let lists = deferredLists[algorithm] else { return (.algorithm(algorithm), []) }
                return (.algorithm(algorithm), (0..<lists.count).map(UInt32.init))
            }
            if let weighted = weightedCounter(for: algorithm), let measure = algorithm.measure {
                // With decay, cooccurrence and lift scores move with time: a full emission
                // rewrites every list so that all of them are as of the same moment.
                if full && decay != nil && !measure.isScaleInvariant { return (.algorithm(algorithm), (0..<weighted.entityCount).map(UInt32.init)) }
                return (.algorithm(algorithm), weighted.changedEntities(normalised: measure.isNormalised, full: full))
            }
            guard let counter = counter(for: algorithm), let measure = algorithm.measure else { return nil }
            return (.algorithm(algorithm), counter.changedEntities(normalised: measure.isNormalised, full: full))
        }
        if let recent {
            // A user's recall depends on lists other users' events change: touched users
            // are recomputed at every emission, every user at a full one (and when the
            // blocked items changed).
            // Users whose items all expired since are among the changed ones: their
            // lists are deleted.
            let users: [UInt32] = blockedChanged || full
                ? recent.perUser.indices.filter { !recent.perUser[$0].isEmpty || recent.changed.contains(UInt32($0)) }.map(UInt32.init)
                : recent.changed.members
            // Seed weights are written as of the latest event time: all of them again at
            // a full emission, so that every stored weight then has the same "now".
            out.append((.recent, full ? users : recent.changed.members))
            // Several workers: a worker keeps only its own items' i2i rows, so none can
            // compose u2i2i from its model; `serve` composes it from the stored lists.
            if !partitioning.workers.isShared { out.append((.u2i2i, users)) }
        }
        return out
    }

    public mutating func clearChanges(full: Bool) {
        deferredListsUnemitted = false
        itemCF?.clearChanges(full: full); u2u?.clearChanges(full: full); a2a?.clearChanges(full: full)
        weightedItemCF?.clearChanges(full: full); weightedU2U?.clearChanges(full: full)
        swing?.clearChanges()
        popular?.clearChanges()
        recent?.clearChanges()
        blockedChanged = false
    }

    /// The list of `entity` in a family (see ``ListFamily``); `composer` and `cache` serve
    /// the u2i2i family.
    public func list(_ family: ListFamily, of entity: UInt32, using selector: inout TopKSelector,
                     composer: inout U2I2IComposer?, cache: inout [Algorithm: [UInt32: [ScoredNeighbor]]]) -> [ScoredNeighbor] {
        switch family {
        case .algorithm(let a): return list(a, of: entity, using: &selector)
        case .recent: return recentList(of: entity)
        case .popular: return popularList()
        case .u2i2i:
            guard composer != nil else { return [] }
            return recallList(of: entity, composer: &composer!, cache: &cache)
        }
    }

    /// Deferred evaluation: computes every co-occurrence list from the pairs applied so
    /// far as a sparse product (``SparseCooccurrence``) on `threads` threads, with the
    /// items blocked now left out. The lists then read as they would from the incremental
    /// counters after the same events, and all of them count as changed. Nothing happens
    /// under incremental evaluation.
    public mutating func computeDeferredLists(threads: Int) {
        guard evaluation == .deferred else { return }
        let algorithms = parameters.algorithms
        deferredLists = [:]
        // Weighted: each pair's value as the weighted counter holds it, weight · g(time).
        var values: [Double]?
        if parameters.isWeighted {
            var growth = decay
            var v = [Double](repeating: 0, count: deferredPairs.count)
            var p = 0
            deferredPairs.forEach { u, i in
                let state = pairStates[UInt64(u) << 32 | UInt64(i)]!
                v[p] = growth == nil ? state.weight : state.weight * growth!.growth(at: state.atMillis)
                p += 1
            }
            values = v
        }
        let decayFactor = decay?.factor(at: watermarkMillis) ?? 1
        func requests(_ chosen: [Algorithm]) -> [SparseCooccurrence.Request] {
            chosen.map { a in
                let measure = a.measure!
                return .init(measure: measure, factor: values == nil || measure.isScaleInvariant ? 1 : decayFactor)
            }
        }
        func compute(_ chosen: [Algorithm], _ matrix: @autoclosure () -> BasketMatrix, window: Int, kind: ListKind) {
            guard !chosen.isEmpty else { return }
            let product = SparseCooccurrence(matrix: matrix(), window: window)
            let lists = product.lists(requests(chosen), k: parameters.k, names: names(for: kind), sortKeys: sortKeys(for: kind),
                                      excluded: kind == .i2i ? blocked : [], threads: threads)
            for (a, l) in zip(chosen, lists) { deferredLists[a] = l }
        }
        let itemCF = algorithms.filter { $0.kind == .i2i && $0 != .swing }.sorted()
        compute(itemCF, BasketMatrix(pairs: deferredPairs, values: values, basketCount: users.count, entityCount: items.count),
                window: parameters.itemHistory, kind: .i2i)
        compute(algorithms.filter { $0.kind == .u2u }.sorted(),
                BasketMatrix(pairs: deferredPairs.transposed(), values: values, basketCount: items.count, entityCount: users.count),
                window: parameters.userHistory, kind: .u2u)
        compute(algorithms.filter { $0.kind == .a2a }.sorted(),
                BasketMatrix(pairs: deferredAuthorPairs, basketCount: users.count, entityCount: authors.count),
                window: parameters.authorHistory, kind: .a2a)
        deferredListsUnemitted = true
    }

    /// Turns Swing's per-event increments on or off (see ``StreamingSwing/incremental``).
    public mutating func setSwingIncremental(_ on: Bool) { swing?.incremental = on }

    /// Recomputes every Swing row exactly from the interaction sets.
    public mutating func rebuildSwing(threads: Int = 2) {
        let kept = keptItems()
        swing?.rebuild(itemNames: items.names, threads: threads, keeps: kept.keeps)
    }

    /// Recomputes exactly the Swing rows waiting longest (see ``StreamingSwing``): at most
    /// ``SwingParameters/refreshRows`` of them, or every row waiting with `everything`
    /// (unless the budget is 0: increments only), on `threads` threads. Returns the rows
    /// recomputed and those still waiting (nil without Swing).
    @discardableResult
    public mutating func refreshSwing(threads: Int = 2, everything: Bool = false) -> (refreshed: Int, waiting: Int)? {
        guard swing != nil else { return nil }
        let budget = parameters.swing.refreshRows
        return swing!.refresh(itemNames: items.names, threads: threads, maxRows: everything && budget > 0 ? nil : budget)
    }

    /// Marks every list as changed.
    public mutating func markAllChanged() {
        itemCF?.markAllChanged(); u2u?.markAllChanged(); a2a?.markAllChanged(); swing?.markAllChanged(); popular?.markChanged()
        weightedItemCF?.markAllChanged(); weightedU2U?.markAllChanged()
        recent?.markAllChanged()
    }

    /// Pair increments applied so far, all counters together.
    public var pairUpdates: Int {
        (itemCF?.pairUpdates ?? 0) + (u2u?.pairUpdates ?? 0) + (a2a?.pairUpdates ?? 0)
            + (weightedItemCF?.pairUpdates ?? 0) + (weightedU2U?.pairUpdates ?? 0)
    }
}

// MARK: - Snapshots

extension CFModel {
    /// The snapshot format this build writes; it reads this one and those in
    /// ``readableSnapshotVersions`` (a snapshot of another version is refused with a
    /// message, never misread). Version 2 holds only the pairs that left a window where the
    /// windows serve as dedupe (``seenUserItem``), and the pair count; version 1 held every
    /// pair, which reads as the same answer.
    public static let snapshotFormatVersion: UInt32 = 2
    public static let readableSnapshotVersions: Set<UInt32> = [1, 2]
    private static let snapshotMagic = Array("OCFSNAP\n".utf8)
    private static let snapshotEnd: UInt64 = 0x444E_4550_414E_5321  // "!SNAPEND"

    /// Whether the state can be written as a snapshot: incremental evaluation only (a
    /// deferred model keeps raw pairs for a batch; its log is what a later run replays).
    public var supportsSnapshots: Bool { evaluation == .incremental }

    /// The whole state as bytes: ids, counters, windows, Swing's interaction sets and
    /// streamed scores, recall seeds, the admission sketch, the TTL clock and heap, item
    /// authors and statuses, and the change marks of what has not been emitted. A model
    /// read back from them (``init(snapshot:parameters:partitioning:)``) behaves exactly
    /// as this one under every later event, for any partition count. Row increments must
    /// not be pending (``applyPendingPairs()``).
    public func snapshot() -> [UInt8] {
        var e = SnapshotEncoder()
        snapshot(into: &e)
        return e.bytes
    }

    /// Writes ``snapshot()``'s bytes to an encoder: streamed
    /// (``SnapshotEncoder/init(chunkSize:sink:)``), they leave as they are written, so a
    /// snapshot needs about one chunk of memory beyond the model. Call
    /// ``SnapshotEncoder/finish()`` after it.
    public func snapshot(into e: inout SnapshotEncoder) {
        precondition(supportsSnapshots, "snapshot of a model under deferred evaluation")
        precondition(!hasPendingPairs, "snapshot with row increments pending")
        e.write(array: Self.snapshotMagic)
        e.write(value: Self.snapshotFormatVersion)
        e.write(string: parameters.stateFingerprint)
        e.write(part: users); e.write(part: items); e.write(part: authors)
        e.write(array: itemAuthor)
        e.write(part: seenUserItem); e.write(part: seenUserAuthor)
        e.write(int: pairsSeen)
        for counter in [itemCF, u2u, a2a] {
            e.write(bool: counter != nil)
            counter?.encode(to: &e)
        }
        e.write(optionalPart: weightedItemCF); e.write(optionalPart: weightedU2U)
        e.write(array: Array(pairStates.keys))
        e.write(array: pairStates.values.map(\.weight)); e.write(array: pairStates.values.map(\.atMillis))
        e.write(bool: decay != nil); decay?.encode(to: &e)
        e.write(value: watermarkMillis)
        e.write(bool: admissionSketch != nil); if let sketch = admissionSketch { e.write(array: sketch.bytes) }
        e.write(array: admittedItem)
        e.write(int: eventsBeforeAdmission)
        e.write(array: hotWindow); e.write(array: hotCount); e.write(int: hotUserEvents)
        e.write(bool: swing != nil); swing?.encode(to: &e)
        e.write(bool: recent != nil); recent?.encode(to: &e)
        e.write(bool: popular != nil); popular?.encode(to: &e)
        e.write(array: blocked); e.write(bool: blockedChanged)
        e.write(value: ttlClockMillis); e.write(part: idle); e.write(part: livePairs)
        e.write(int: expiredUsers); e.write(int: expiredItems)
        e.write(value: Self.snapshotEnd)
    }

    /// The state fingerprint a snapshot was taken under (``ModelParameters/stateFingerprint``)
    /// and its format version, read from its head; nil when the bytes are not a snapshot.
    public static func snapshotHeader(_ bytes: [UInt8]) -> (version: UInt32, stateFingerprint: String?)? {
        var d = SnapshotDecoder(bytes: bytes)
        guard let magic = try? d.readArray(of: UInt8.self), magic == snapshotMagic, let version = try? d.read(UInt32.self) else { return nil }
        return (version, readableSnapshotVersions.contains(version) ? try? d.readString() : nil)
    }

    /// A model read back from ``snapshot()``, to run under `parameters` (whose
    /// ``ModelParameters/stateFingerprint`` must be the snapshot's) with `partitioning`
    /// (any count). Throws ``SnapshotError`` with what to do when the bytes are damaged,
    /// of another format version, or taken under other parameters.
    public init(snapshot bytes: [UInt8], parameters: ModelParameters, partitioning: ModelPartitioning = .single) throws(SnapshotError) {
        var d = SnapshotDecoder(bytes: bytes)
        try self.init(reading: &d, parameters: parameters, partitioning: partitioning)
    }

    /// As ``init(snapshot:parameters:partitioning:)``, reading from a decoder: streamed
    /// (``SnapshotDecoder/init(totalBytes:source:)``), the snapshot is read chunk by chunk
    /// as the model is built, and the source may stop the read by throwing.
    public init(reading d: inout SnapshotDecoder, parameters: ModelParameters, partitioning: ModelPartitioning = .single) throws(SnapshotError) {
        guard let magic = try? d.readArray(of: UInt8.self), magic == Self.snapshotMagic else {
            throw SnapshotError("the bytes are not an OnlineCF snapshot (no snapshot header)")
        }
        let version: UInt32 = try d.read()
        guard Self.readableSnapshotVersions.contains(version) else {
            throw SnapshotError("the snapshot has format version \(version); this onlinecf reads versions \(Self.readableSnapshotVersions.sorted().map(String.init).joined(separator: " and ")). Run the onlinecf that wrote it, or 'onlinecf reset' the namespace and backfill it with 'onlinecf batch'")
        }
        let fingerprint = try d.readString()
        guard fingerprint == parameters.stateFingerprint else {
            throw SnapshotError("the snapshot was taken under other model parameters (\(fingerprint)) than this run's (\(parameters.stateFingerprint)); a snapshot holds counts, not events, so it cannot be replayed under others. Run with the parameters it was taken under, or 'onlinecf reset' the namespace and backfill it with 'onlinecf batch' under the new ones")
        }
        self.init(parameters: parameters, evaluation: .incremental, partitioning: partitioning)
        guard evaluation == .incremental else { throw SnapshotError("a snapshot cannot be read into a model under deferred evaluation") }
        users = try d.readPart(); items = try d.readPart(); authors = try d.readPart()
        itemAuthor = try d.readArray()
        seenUserItem = try d.readPart(); seenUserAuthor = try d.readPart()
        pairsSeen = version >= 2 ? try d.readInt() : seenUserItem.count
        let names: [(IdInterner, Bool)] = [(items, itemCF != nil), (users, u2u != nil), (authors, a2a != nil)]
        var counters: [CooccurrenceCounter?] = []
        for (interner, expected) in names {
            let present = try d.readBool()
            guard present == expected else { throw SnapshotError("the snapshot's counters do not match its parameters: it is damaged") }
            let p = partitioning
            counters.append(present ? try CooccurrenceCounter(from: &d, partitions: p.count, dropsForeignRows: p.workers.isShared,
                                                              owner: { p.partition(of: interner.names[Int($0)]) }) : nil)
        }
        itemCF = counters[0]; u2u = counters[1]; a2a = counters[2]
        let wItemCF: WeightedCooccurrenceCounter? = try d.readOptionalPart(), wU2U: WeightedCooccurrenceCounter? = try d.readOptionalPart()
        guard (wItemCF != nil) == (weightedItemCF != nil), (wU2U != nil) == (weightedU2U != nil) else {
            throw SnapshotError("the snapshot's weighted counters do not match its parameters: it is damaged")
        }
        weightedItemCF = wItemCF; weightedU2U = wU2U
        if partitioning.workers.isShared {
            let (p, itemNames, userNames) = (partitioning, items.names, users.names)
            weightedItemCF?.dropForeignRows(partition: { p.partition(of: itemNames[Int($0)]) })
            weightedU2U?.dropForeignRows(partition: { p.partition(of: userNames[Int($0)]) })
        }
        let pairKeys: [UInt64] = try d.readArray(), weights: [Double] = try d.readArray(), times: [Int64] = try d.readArray()
        guard pairKeys.count == weights.count, weights.count == times.count else { throw SnapshotError("the snapshot's pair weights are inconsistent: it is damaged") }
        pairStates = Dictionary(minimumCapacity: pairKeys.count)
        for n in pairKeys.indices { pairStates[pairKeys[n]] = (weights[n], times[n]) }
        if try d.readBool() {
            guard let halfLife = parameters.decayHalfLifeMillis else { throw SnapshotError("the snapshot decays but its parameters do not: it is damaged") }
            decay = try ForwardDecay(from: &d, halfLifeMillis: halfLife)
        }
        watermarkMillis = try d.read()
        if try d.readBool() {
            guard let sketch = CountMinSketch(bytes: try d.readArray()) else { throw SnapshotError("the snapshot's admission sketch has an unexpected size: it is damaged") }
            admissionSketch = sketch
        }
        admittedItem = try d.readArray()
        eventsBeforeAdmission = try d.readInt()
        hotWindow = try d.readArray(); hotCount = try d.readArray(); hotUserEvents = try d.readInt()
        if try d.readBool() { swing = try StreamingSwing(from: &d, parameters: parameters.swing) }
        if partitioning.workers.isShared, swing != nil { swing!.dropForeignRows(keeps: keptItems().keeps) }
        if try d.readBool() {
            guard let r = parameters.recall else { throw SnapshotError("the snapshot holds recall seeds but its parameters have no recall: it is damaged") }
            recent = try RecentInteractions(from: &d, capacity: r.recentItems, halfLifeMillis: r.halfLifeMillis)
        }
        if try d.readBool() {
            guard let p = parameters.popular else { throw SnapshotError("the snapshot holds popular counts but its parameters have none: it is damaged") }
            popular = try PopularItems(from: &d, parameters: p)
        }
        blocked = try d.readArray(); blockedChanged = try d.readBool()
        ttlClockMillis = try d.read(); idle = try d.readPart(); livePairs = try d.readPart()
        expiredUsers = try d.readInt(); expiredItems = try d.readInt()
        let end: UInt64 = try d.read()
        guard end == Self.snapshotEnd, d.isAtEnd else { throw SnapshotError("the snapshot does not end where its parts do: it is damaged") }
    }
}

/// How a ``CFModel`` computes co-occurrence lists (ItemCF, u2u, a2a).
public enum CooccurrenceEvaluation: Sendable, Hashable {
    /// Counters updated by every new pair: any list can be read after any event.
    case incremental
    /// New pairs recorded only; ``CFModel/computeDeferredLists(threads:)`` computes every
    /// list at once, on every core (a batch).
    case deferred
}
