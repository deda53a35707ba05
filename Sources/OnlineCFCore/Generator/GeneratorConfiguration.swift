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
