/// TTL expiry's bookkeeping: each live user's and item's latest event time, and which of
/// them have been idle for longer than a TTL, found without scanning.
///
/// A min-heap holds one entry per live id, keyed (time, kind, id) with a time no later
/// than the id's latest event. ``popIdle(before:)`` pops entries older than the cutoff:
/// an id whose latest event is older is idle (it stops being live and is returned);
/// any other is pushed back with its latest event time. So each event costs O(1), and
/// each id O(log n) per TTL of activity. Deterministic: the same touches and pops in the
/// same order give the same results, ties in time ordered users first, then by index.
public struct IdleTracker: Sendable {
    public enum Kind: UInt64, Sendable { case user = 0, item = 1 }

    private var userLastSeen: [Int64] = [], itemLastSeen: [Int64] = []
    private var heap: [(at: Int64, key: UInt64)] = []
    private static let notLive = Int64.min

    public init() {}

    /// Number of live ids (users and items).
    public var liveCount: Int { heap.count }

    /// The latest event time of a live id (nil when not live).
    public func lastSeen(_ kind: Kind, _ id: UInt32) -> Int64? {
        let times = kind == .user ? userLastSeen : itemLastSeen
        guard Int(id) < times.count, times[Int(id)] != Self.notLive else { return nil }
        return times[Int(id)]
    }

    /// Records an event of `id` at `t`. Returns whether its latest event time changed
    /// (an id not live becomes live).
    public mutating func touch(_ kind: Kind, _ id: UInt32, at t: Int64) -> Bool {
        let t = max(t, Self.notLive + 1)
        let i = Int(id)
        let old: Int64
        switch kind {
        case .user:
            if i >= userLastSeen.count { userLastSeen.append(contentsOf: repeatElement(Self.notLive, count: i + 1 - userLastSeen.count)) }
            old = userLastSeen[i]
            if t > old { userLastSeen[i] = t }
        case .item:
            if i >= itemLastSeen.count { itemLastSeen.append(contentsOf: repeatElement(Self.notLive, count: i + 1 - itemLastSeen.count)) }
            old = itemLastSeen[i]
            if t > old { itemLastSeen[i] = t }
        }
        if old == Self.notLive { push(t, kind.rawValue << 32 | UInt64(id)) }
        return t > old
    }

    /// Removes and returns, in (time, kind, id) order, every live id whose latest event is
    /// before `cutoff`.
    public mutating func popIdle(before cutoff: Int64) -> [(Kind, UInt32)] {
        var idle: [(Kind, UInt32)] = []
        while let top = heap.first, top.at < cutoff {
            popTop()
            let kind = Kind(rawValue: top.key >> 32)!, id = UInt32(truncatingIfNeeded: top.key)
            let seen = kind == .user ? userLastSeen[Int(id)] : itemLastSeen[Int(id)]
            if seen < cutoff {
                if kind == .user { userLastSeen[Int(id)] = Self.notLive } else { itemLastSeen[Int(id)] = Self.notLive }
                idle.append((kind, id))
            } else {
                push(seen, top.key)
            }
        }
        return idle
    }

    @inline(__always)
    private static func less(_ a: (at: Int64, key: UInt64), _ b: (at: Int64, key: UInt64)) -> Bool {
        a.at != b.at ? a.at < b.at : a.key < b.key
    }

    private mutating func push(_ at: Int64, _ key: UInt64) {
        heap.append((at, key))
        var c = heap.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard Self.less(heap[c], heap[p]) else { break }
            heap.swapAt(c, p)
            c = p
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var p = 0
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < heap.count, Self.less(heap[l], heap[m]) { m = l }
            if r < heap.count, Self.less(heap[r], heap[m]) { m = r }
            if m == p { break }
            heap.swapAt(p, m)
            p = m
        }
    }
}

/// The live (user, item) pairs by user and by item, for removing an expired id's pairs.
/// Order within a user's or item's list is not kept (removal swaps in the last one).
public struct PairAdjacency: Sendable {
    public private(set) var itemsOf: [[UInt32]] = []
    public private(set) var usersOf: [[UInt32]] = []
    /// (slot in itemsOf[u]) << 32 | slot in usersOf[i].
    private var slots: [UInt64: UInt64] = [:]

    public init() {}

    public func items(of user: UInt32) -> [UInt32] { Int(user) < itemsOf.count ? itemsOf[Int(user)] : [] }
    public func users(of item: UInt32) -> [UInt32] { Int(item) < usersOf.count ? usersOf[Int(item)] : [] }

    /// Adds the pair if absent.
    public mutating func insert(user: UInt32, item: UInt32) {
        let key = UInt64(user) << 32 | UInt64(item)
        guard slots[key] == nil else { return }
        let u = Int(user), i = Int(item)
        if u >= itemsOf.count { itemsOf.append(contentsOf: repeatElement([], count: u + 1 - itemsOf.count)) }
        if i >= usersOf.count { usersOf.append(contentsOf: repeatElement([], count: i + 1 - usersOf.count)) }
        slots[key] = UInt64(itemsOf[u].count) << 32 | UInt64(usersOf[i].count)
        itemsOf[u].append(item)
        usersOf[i].append(user)
    }

    /// Removes the pair if present.
    public mutating func remove(user: UInt32, item: UInt32) {
        guard let slot = slots.removeValue(forKey: UInt64(user) << 32 | UInt64(item)) else { return }
        let u = Int(user), i = Int(item)
        let su = Int(slot >> 32), si = Int(slot & 0xFFFF_FFFF)
        let lastItem = itemsOf[u].removeLast()
        if su < itemsOf[u].count {
            itemsOf[u][su] = lastItem
            let k = UInt64(user) << 32 | UInt64(lastItem)
            slots[k] = UInt64(su) << 32 | (slots[k]! & 0xFFFF_FFFF)
        }
        let lastUser = usersOf[i].removeLast()
        if si < usersOf[i].count {
            usersOf[i][si] = lastUser
            let k = UInt64(lastUser) << 32 | UInt64(item)
            slots[k] = (slots[k]! & 0xFFFF_FFFF_0000_0000) | UInt64(si)
        }
    }
}

extension IdleTracker: SnapshotCodable {
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(array: userLastSeen)
        encoder.write(array: itemLastSeen)
        encoder.write(array: heap.map(\.at))
        encoder.write(array: heap.map(\.key))
    }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        userLastSeen = try decoder.readArray()
        itemLastSeen = try decoder.readArray()
        let at: [Int64] = try decoder.readArray(), key: [UInt64] = try decoder.readArray()
        guard at.count == key.count else { throw SnapshotError("the TTL heap of the snapshot is inconsistent: it is damaged") }
        heap = zip(at, key).map { (at: $0, key: $1) }
    }
}

extension PairAdjacency: SnapshotCodable {
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(arrays: itemsOf)
        encoder.write(arrays: usersOf)
        encoder.write(array: Array(slots.keys))
        encoder.write(array: Array(slots.values))
    }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        itemsOf = try decoder.readArrays()
        usersOf = try decoder.readArrays()
        let keys: [UInt64] = try decoder.readArray(), values: [UInt64] = try decoder.readArray()
        slots = Dictionary(uniqueKeysWithValues: zip(keys, values))
    }
}
