/// The knobs of u2i2i recall. A limit of 0 means none.
public struct RecallOptions: Sendable, Hashable {
    /// Results returned.
    public var count: Int = 50
    /// Seeds used: the heaviest ones (ties by item id).
    public var maxSeeds: Int = 50
    /// Neighbours used per seed and list: the first ones of each list.
    public var maxNeighbours: Int = 50
    /// Leave out the items the user interacted with (and every seed item).
    public var excludeSeen: Bool = true
    /// At most this many results by one author (items of unknown author are not capped).
    public var perAuthor: Int = 0
    /// Leave out items whose author id equals the user id.
    public var excludeOwnItems: Bool = true

    public init() {}

    /// A stable text for fingerprints.
    public var fingerprint: String {
        "n=\(count),seeds=\(maxSeeds),neighbours=\(maxNeighbours),seen=\(excludeSeen),perAuthor=\(perAuthor),own=\(excludeOwnItems)"
    }
}
