/// What a model maintains and the bounds that keep its work per event finite.
///
/// A bound of 0 means unlimited. With every bound 0 (`exact`), every statistic is the
/// exact formula over all events.
public struct ModelParameters: Sendable, Hashable {
    /// Algorithms maintained.
    public var algorithms: Set<Algorithm>
    /// ItemCF: a new item co-occurs with the user's last `itemHistory` distinct items.
    public var itemHistory: Int
    /// u2u: a new user of an item co-occurs with the item's last `userHistory` users.
    public var userHistory: Int
    /// a2a: a new author of a user co-occurs with the user's last `authorHistory` authors.
    public var authorHistory: Int
    /// List length.
    public var k: Int
    /// Swing's parameters (used when `algorithms` holds `.swing`).
    public var swing = SwingParameters()
    /// u2i2i recall maintained while streaming (nil: off).
    public var recall: RecallParameters?
    /// The `popular` list, u2i2i's fallback (nil: off; on by default).
    public var popular: PopularParameters? = PopularParameters()
    /// Weight of each action (nil: every interaction counts 1, binary). Weights ItemCF
    /// and u2u co-occurrence and recall seeds; negative weights remove a pair.
    public var actionWeights: ActionWeights?
    /// Half-life of ItemCF and u2u statistics in event-time milliseconds (nil: no decay).
    public var decayHalfLifeMillis: Int64?

    /// Frequency admission (Monolith): a user or item enters the statistics at its N-th
    /// event, counted before that in a ``CountMinSketch``. 1 = every id at once (off).
    public var admitAfter: Int = 1
    /// Hot-user guard: a user's state-changing events beyond this many within one window
    /// of event time are left out (nil: off).
    public var hotUserLimit: Int?
    /// The hot-user guard's window, event-time milliseconds (tumbling windows from 0).
    public var hotUserWindowMillis: Int64 = 3_600_000

    /// TTL expiry (Monolith): a user or item with no event for longer than this many
    /// event-time milliseconds loses its statistics and lists (nil: off). See
    /// ``CFModel`` for what it covers.
    public var ttlMillis: Int64?

    /// Whether ItemCF and u2u use weighted (and possibly decayed) co-occurrence: with
    /// action weights or decay. (A TTL alone keeps binary counts, in counters that can
    /// take an expired id's pairs out.)
    public var isWeighted: Bool { actionWeights != nil || decayHalfLifeMillis != nil }

    public static let defaultItemHistory = 50
    public static let defaultUserHistory = 10
    public static let defaultAuthorHistory = 50
    public static let defaultK = 50

    public init(
        algorithms: Set<Algorithm> = Set(Algorithm.allCases),
        itemHistory: Int = defaultItemHistory,
        userHistory: Int = defaultUserHistory,
        authorHistory: Int = defaultAuthorHistory,
        k: Int = defaultK,
        swing: SwingParameters = SwingParameters()
    ) {
        self.swing = swing
        self.algorithms = algorithms
        self.itemHistory = itemHistory
        self.userHistory = userHistory
        self.authorHistory = authorHistory
        self.k = k
    }

    /// Lifts every bound.
    public func exact() -> ModelParameters {
        var p = self
        p.itemHistory = 0; p.userHistory = 0; p.authorHistory = 0; p.swing.streamingUserWindow = 0
        return p
    }

    /// A stable text naming every parameter that shapes the lists; stored beside the
    /// state so that a run with other parameters knows every list must be rebuilt.
    public var fingerprint: String {
        let algos = algorithms.sorted().map(\.rawValue).joined(separator: ",")
        let swingPart = algorithms.contains(.swing) ? ";swing(\(swing.fingerprint))" : ""
        let recallPart = recall.map { ";recall(\($0.fingerprint))" } ?? ""
        let weightPart = (actionWeights.map { ";actions=\($0)" } ?? "") + (decayHalfLifeMillis.map { ";decay=\($0)" } ?? "")
            + (admitAfter > 1 ? ";admitAfter=\(admitAfter)" : "") + (hotUserLimit.map { ";hotUser=\($0)/\(hotUserWindowMillis)" } ?? "")
            + (ttlMillis.map { ";ttl=\($0)" } ?? "") + (popular.map { ";popular(\($0.fingerprint))" } ?? "")
        return "v1;algos=\(algos);itemHistory=\(itemHistory);userHistory=\(userHistory);authorHistory=\(authorHistory);k=\(k)" + swingPart + recallPart + weightPart
    }

    /// The parameters that shape the state itself, as a stable text: everything in
    /// ``fingerprint`` but the list length and how recall blends its sources. A snapshot
    /// is read only under the same (another `k` just rewrites the lists).
    public var stateFingerprint: String {
        var p = self
        p.k = 0
        p.recall = nil
        let recallPart = recall.map { ";recall(recent=\($0.recentItems),halfLife=\($0.halfLifeMillis.map(String.init) ?? "none"))" } ?? ""
        return p.fingerprint + recallPart
    }
}
