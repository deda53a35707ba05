/// Parameters of ``EventGenerator``.
///
/// Defaults: `authors` = max(1, items / 20), `itemZipfExponent` 1.0,
/// `userZipfExponent` 0.8, start time 1,700,000,000,000 ms (2023-11-14), mean gap 50 ms.
public struct GeneratorConfiguration: Sendable, Hashable {
    /// Number of events to produce (>= 0).
    public var events: Int
    /// Number of distinct users (`u1`...`uN`, >= 1).
    public var users: Int
    /// Number of distinct items (`i1`...`iN`, >= 1).
    public var items: Int
    /// Number of distinct authors (`a1`...`aN`, >= 1).
    public var authors: Int
    /// Seed; the same configuration always yields the same events.
    public var seed: UInt64
    /// Zipf exponent of item popularity (0 = uniform).
    public var itemZipfExponent: Double
    /// Zipf exponent of user activity (0 = uniform).
    public var userZipfExponent: Double
    /// Timestamp of the first event, in Unix milliseconds.
    public var startMillis: Int64
    /// Mean gap between consecutive events in ms (exponentially distributed, >= 0).
    public var meanGapMillis: Double
    /// A feed whose items and users keep arriving (nil: a fixed catalogue and user base).
    public var arrivals: Arrivals?

    /// Items and users that keep arriving, as in a feed: ``users`` and ``items`` are then
    /// the user base and catalogue at the start.
    ///
    /// - Items: `newItemsPerDay` are published at a steady rate (the starting catalogue as
    ///   if published at that rate before the start). An event's item is chosen by its age:
    ///   exponentially distributed with median `exposureHalfLifeMillis` (so with 1 day,
    ///   half of all exposure goes to items under a day old), then among the items
    ///   published within the same hour by Zipf popularity (``itemZipfExponent``).
    /// - Users: `newUsersPerDay` join at a steady rate; an event's user is chosen by Zipf
    ///   activity (``userZipfExponent``) over everyone who has joined by then.
    public struct Arrivals: Sendable, Hashable {
        public var newItemsPerDay: Int
        public var newUsersPerDay: Int
        public var exposureHalfLifeMillis: Int64

        public init(newItemsPerDay: Int = 20_000, newUsersPerDay: Int = 20_000, exposureHalfLifeMillis: Int64 = 86_400_000) {
            self.newItemsPerDay = newItemsPerDay
            self.newUsersPerDay = newUsersPerDay
            self.exposureHalfLifeMillis = exposureHalfLifeMillis
        }
    }

    public init(
        events: Int, users: Int, items: Int, authors: Int? = nil, seed: UInt64 = 1,
        itemZipfExponent: Double = 1.0, userZipfExponent: Double = 0.8,
        startMillis: Int64 = 1_700_000_000_000, meanGapMillis: Double = 50
    ) {
        self.events = events
        self.users = users
        self.items = items
        self.authors = authors ?? max(1, items / 20)
        self.seed = seed
        self.itemZipfExponent = itemZipfExponent
        self.userZipfExponent = userZipfExponent
        self.startMillis = startMillis
        self.meanGapMillis = meanGapMillis
    }

    /// Throws when a value is out of range.
    public func validate() throws(GeneratorConfigurationError) {
        if events < 0 { throw GeneratorConfigurationError("events must be >= 0, not \(events)") }
        if users < 1 { throw GeneratorConfigurationError("users must be >= 1, not \(users)") }
        if items < 1 { throw GeneratorConfigurationError("items must be >= 1, not \(items)") }
        if authors < 1 { throw GeneratorConfigurationError("authors must be >= 1, not \(authors)") }
        for (name, value) in [("item", itemZipfExponent), ("user", userZipfExponent)]
        where !(value >= 0 && value <= 10) {
            throw GeneratorConfigurationError("\(name) Zipf exponent must be in 0...10, not \(value)")
        }
        if let a = arrivals {
            if a.newItemsPerDay < 1 || a.newUsersPerDay < 0 { throw GeneratorConfigurationError("new items per day must be >= 1 and new users per day >= 0") }
            if a.exposureHalfLifeMillis < 1 { throw GeneratorConfigurationError("the exposure half-life must be positive") }
            if !(meanGapMillis > 0) { throw GeneratorConfigurationError("a feed with arrivals needs a positive mean gap between events") }
        }
        if !(meanGapMillis >= 0 && meanGapMillis <= 1e9) {
            throw GeneratorConfigurationError("mean gap must be in 0...1e9 ms, not \(meanGapMillis)")
        }
    }
}

/// An invalid ``GeneratorConfiguration``.
public struct GeneratorConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
