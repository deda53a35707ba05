/// A seeded, deterministic synthetic event stream.
///
/// Guarantees:
/// - The same ``GeneratorConfiguration`` produces the same events on every machine and
///   Swift version (own PRNG, ``Xoshiro256StarStar``; no libm transcendental functions).
/// - Exactly `configuration.events` events; ids are `u1...u<users>`, `i1...i<items>`,
///   `a1...a<authors>`; timestamps start at `startMillis` and never decrease.
/// - Items have Zipf popularity (`itemZipfExponent`) over a seeded permutation of the ids,
///   so popular items are not simply the small ids; user activity is Zipf too
///   (`userZipfExponent`, also permuted). Each item has one fixed author, chosen Zipf(1.0)
///   over a permutation of the authors, so a few authors own many items.
/// - Actions follow a fixed mix: click 70%, like 12%, comment 6%, collect 5%, share 4%,
///   dislike 3%. Gaps between events are exponential with mean `meanGapMillis`.
///
/// - With ``GeneratorConfiguration/arrivals``, items are published and users join as the
///   stream goes (ids numbered in order of arrival), and each event's item is chosen by
///   age, then by popularity within its hour (see ``GeneratorConfiguration/Arrivals``).
///
/// Memory is O(users + items); each event costs O(log users + log items).
public struct EventGenerator: Sequence, IteratorProtocol, Sendable {
    /// The action mix, in percent (sums to 100).
    public static let actionMix: [(action: String, percent: Int)] = [
        ("click", 70), ("like", 12), ("comment", 6), ("collect", 5), ("share", 4), ("dislike", 3),
    ]

    public let configuration: GeneratorConfiguration
    private var rng: Xoshiro256StarStar
    private let userSampler: ZipfSampler
    private let itemSampler: ZipfSampler
    /// Popularity rank -> user number (1-based).
    private let userByRank: [Int32]
    /// Popularity rank -> item number (1-based).
    private let itemByRank: [Int32]
    /// Item number - 1 -> author number (1-based).
    private let authorOfItem: [Int32]
    /// Percent (0..<100) -> action index.
    private let actionByPercent: [UInt8]
    private let actionNames: [String]
    private var produced = 0
    private var clock: Double = 0
    /// Arrivals: the user base and catalogue at the start, and the within-hour sampler.
    private let initialUsers: Int, initialItems: Int
    private let hourSampler: ZipfSampler?
    private let itemsPerHour: Int

    /// - Throws: ``GeneratorConfigurationError`` for out-of-range values.
    public init(configuration: GeneratorConfiguration) throws(GeneratorConfigurationError) {
        try configuration.validate()
        var configuration = configuration
        initialUsers = configuration.users
        initialItems = configuration.items
        if let a = configuration.arrivals {
            // Every id the stream can reach: the starting ones and those arriving before its end.
            let days = Double(configuration.events) * configuration.meanGapMillis * 1.5 / 86_400_000 + 1
            configuration.users += Int(Double(a.newUsersPerDay) * days)
            configuration.items += Int(Double(a.newItemsPerDay) * days)
            itemsPerHour = Swift.max(1, a.newItemsPerDay / 24)
            hourSampler = ZipfSampler(count: itemsPerHour, exponent: configuration.itemZipfExponent)
        } else {
            itemsPerHour = 1
            hourSampler = nil
        }
        self.configuration = configuration
        var setup = SplitMix64(seed: configuration.seed ^ 0x6F6E_6C69_6E65_6366)  // "onlinecf"
        var permutationRNG = Xoshiro256StarStar(seed: setup.next())
        userByRank = Self.permutation(configuration.users, &permutationRNG)
        itemByRank = Self.permutation(configuration.items, &permutationRNG)
        let authorByRank = Self.permutation(configuration.authors, &permutationRNG)
        let authorSampler = ZipfSampler(count: configuration.authors, exponent: 1.0)
        var authorRNG = Xoshiro256StarStar(seed: setup.next())
        var authorOfItem = [Int32](repeating: 0, count: configuration.items)
        for k in 0..<configuration.items {
            authorOfItem[k] = authorByRank[authorSampler.sample(&authorRNG)]
        }
        self.authorOfItem = authorOfItem
        userSampler = ZipfSampler(count: configuration.users, exponent: configuration.userZipfExponent)
        itemSampler = ZipfSampler(count: configuration.items, exponent: configuration.itemZipfExponent)
        var byPercent: [UInt8] = []
        for (index, entry) in Self.actionMix.enumerated() {
            byPercent += Array(repeating: UInt8(index), count: entry.percent)
        }
        actionByPercent = byPercent
        actionNames = Self.actionMix.map(\.action)
        rng = Xoshiro256StarStar(seed: setup.next())
    }

    /// Fisher–Yates shuffle of 1...n.
    private static func permutation(_ n: Int, _ rng: inout Xoshiro256StarStar) -> [Int32] {
        var p = (0..<n).map { Int32($0 + 1) }
        if n > 1 {
            for k in stride(from: n - 1, to: 0, by: -1) {
                p.swapAt(k, rng.nextBelow(k + 1))
            }
        }
        return p
    }

    /// Number of events produced so far.
    public var count: Int { produced }

    /// The next event, or `nil` after `configuration.events` events.
    public mutating func next() -> Event? {
        guard produced < configuration.events else { return nil }
        if produced > 0 && configuration.meanGapMillis > 0 {
            // Exponential gap: -mean * ln(1 - u), u in [0, 1).
            clock += -configuration.meanGapMillis * PortableMath.log(1 - rng.nextUnitDouble())
        }
        produced += 1
        let user: Int, itemNumber: Int
        if let arrivals = configuration.arrivals {
            (user, itemNumber) = arrivingIds(arrivals)
        } else {
            user = Int(userByRank[userSampler.sample(&rng)])
            itemNumber = Int(itemByRank[itemSampler.sample(&rng)])
        }
        let author = Int(authorOfItem[itemNumber - 1])
        let action = actionNames[Int(actionByPercent[rng.nextBelow(100)])]
        return Event(
            user: Self.id(UInt8(ascii: "u"), user), item: Self.id(UInt8(ascii: "i"), itemNumber),
            author: Self.id(UInt8(ascii: "a"), author),
            // clock >= 0, so truncation is floor (and needs no libm).
            action: action, timestampMillis: configuration.startMillis + Int64(clock))
    }

    /// A user who has joined by now (Zipf activity) and an item chosen by age, then by
    /// popularity within its hour; both numbered in order of arrival.
    private mutating func arrivingIds(_ a: GeneratorConfiguration.Arrivals) -> (user: Int, item: Int) {
        let day = 86_400_000.0
        let joined = initialUsers + Int(clock * Double(a.newUsersPerDay) / day)
        var user = 0
        repeat { user = Int(userByRank[userSampler.sample(&rng)]) } while user > joined
        let perMilli = Double(a.newItemsPerDay) / day
        let newest = initialItems + Int(clock * perMilli)
        // Exponential age with median = the half-life: −h/ln 2 · ln(1 − u).
        let age = -Double(a.exposureHalfLifeMillis) / 0.693_147_180_559_945_3 * PortableMath.log(1 - rng.nextUnitDouble())
        let published = Double(initialItems) + (clock - age) * perMilli  // fractional item number
        // Older than the starting catalogue: one of its items, any (they stand for every older one).
        guard published >= 0 else { return (user, 1 + rng.nextBelow(initialItems)) }
        let hour = Int(published) / itemsPerHour
        let rank = hourSampler!.sample(&rng)
        // A fixed shuffle of the hour's ranks (an odd multiplier modulo the hour's size).
        let offset = (rank &* 1_000_003 &+ hour &* 7_919) % itemsPerHour
        return (user, Swift.max(1, Swift.min(newest, hour * itemsPerHour + offset + 1)))
    }

    /// `prefix` followed by the decimal digits of `n` (n >= 0).
    @inline(__always)
    static func id(_ prefix: UInt8, _ n: Int) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            var digits = 0
            var v = n
            repeat {
                buffer[23 - digits] = UInt8(48 + v % 10)
                v /= 10
                digits += 1
            } while v > 0
            buffer[23 - digits] = prefix
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[(23 - digits)...]), as: UTF8.self)
        }
    }
}
