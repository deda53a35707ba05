/// Which master serves each hash slot of a Redis Cluster, as reported by `CLUSTER SLOTS`.
///
/// Guarantees:
/// - A value type: once built it never changes unless mutated through `assign`.
/// - `master(for:)` answers in O(1) for every slot; slots no range covers answer nil.
/// - Node endpoints are TCP endpoints carrying the user, password and database of the
///   endpoint the reply was requested from (the seed), so they log in the same way.
/// - Hosts are taken as reported (IP literal or hostname); an empty host, `?` or a null
///   host means "the host the reply came from" (for a unix-socket seed: 127.0.0.1).
/// - `masters` lists each master once, in the order of the first slot it serves.
public struct ClusterSlotMap: Sendable, Equatable {
    /// A contiguous range of slots and its master.
    public struct SlotRange: Sendable, Equatable {
        public var slots: ClosedRange<Int>
        public var master: RedisEndpoint
    }

    /// The distinct masters serving at least one slot, in order of the first slot each serves.
    public private(set) var masters: [RedisEndpoint] = []
    /// Every endpoint ever assigned; `owners` indexes into it.
    private var endpoints: [RedisEndpoint] = []
    /// For each slot, the index into `endpoints`, or -1 when unassigned.
    private var owners: [Int16]

    /// An empty map (no slot assigned).
    public init() {
        owners = Array(repeating: -1, count: HashSlot.count)
    }

    /// Builds the map from ranges (later ranges win where they overlap).
    public init(ranges: [SlotRange]) {
        self.init()
        for range in ranges.sorted(by: { $0.slots.lowerBound < $1.slots.lowerBound }) {
            let index = masterIndex(range.master)
            for slot in range.slots where (0..<HashSlot.count).contains(slot) {
                owners[slot] = index
            }
        }
        updateMasters()
    }

    /// Parses the reply of `CLUSTER SLOTS` sent to `seed` (RESP2 arrays of
    /// `[start, end, [host, port, id, …], replicas…]`).
    ///
    /// - Throws: `.protocolError` when the reply has an unexpected shape,
    ///   `.serverError` when it is an error reply.
    public init(clusterSlotsReply reply: RESPValue, seed: RedisEndpoint) throws(KVError) {
        if case .error(let message) = reply {
            throw KVError(code: .serverError, message: message, server: seed.displayName, command: "CLUSTER SLOTS")
        }
        guard let entries = reply.array else {
            throw Self.malformed(reply, seed)
        }
        let askedHost: String
        if case .tcp(let host, _) = seed.address { askedHost = host } else { askedHost = "127.0.0.1" }
        var ranges: [SlotRange] = []
        for entry in entries {
            guard let fields = entry.array, fields.count >= 3,
                  let start = fields[0].int, let end = fields[1].int, start <= end,
                  start >= 0, end < HashSlot.count,
                  let node = fields[2].array, node.count >= 2, let port = node[1].int, port > 0
            else {
                throw Self.malformed(entry, seed)
            }
            var host = node[0].string ?? ""
            if host.isEmpty || host == "?" { host = askedHost }
            var master = seed
            master.address = .tcp(host: host, port: Int(port))
            ranges.append(SlotRange(slots: Int(start)...Int(end), master: master))
        }
        self.init(ranges: ranges)
    }

    /// The master serving `slot`, or nil when no node serves it.
    public func master(for slot: HashSlot) -> RedisEndpoint? {
        let index = owners[slot.rawValue]
        return index < 0 ? nil : endpoints[Int(index)]
    }

    /// True when every one of the 16384 slots has a master.
    public var coversAllSlots: Bool { !owners.contains(-1) }

    /// The slot ranges, merged and in slot order.
    public var ranges: [SlotRange] {
        var out: [SlotRange] = []
        var slot = 0
        while slot < HashSlot.count {
            let owner = owners[slot]
            var end = slot
            while end + 1 < HashSlot.count, owners[end + 1] == owner { end += 1 }
            if owner >= 0 { out.append(SlotRange(slots: slot...end, master: endpoints[Int(owner)])) }
            slot = end + 1
        }
        return out
    }

    /// Records that `slot` is now served by `master` (e.g. from a `MOVED` redirect).
    public mutating func assign(_ slot: HashSlot, to master: RedisEndpoint) {
        owners[slot.rawValue] = masterIndex(master)
        updateMasters()
    }

    /// Same slots served by the same endpoints.
    public static func == (lhs: ClusterSlotMap, rhs: ClusterSlotMap) -> Bool {
        lhs.ranges == rhs.ranges
    }

    private mutating func masterIndex(_ endpoint: RedisEndpoint) -> Int16 {
        if let index = endpoints.firstIndex(of: endpoint) { return Int16(index) }
        endpoints.append(endpoint)
        return Int16(endpoints.count - 1)
    }

    private mutating func updateMasters() {
        var seen = Array(repeating: false, count: endpoints.count)
        masters = []
        for owner in owners where owner >= 0 && !seen[Int(owner)] {
            seen[Int(owner)] = true
            masters.append(endpoints[Int(owner)])
        }
    }

    private static func malformed(_ value: RESPValue, _ seed: RedisEndpoint) -> KVError {
        KVError(code: .protocolError, message: "unexpected CLUSTER SLOTS reply: \(value)", server: seed.displayName, command: "CLUSTER SLOTS")
    }
}
