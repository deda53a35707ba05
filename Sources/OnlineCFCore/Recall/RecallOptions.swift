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
    /// How a blend of two or more lists puts them on one scale (see ``BlendScale``).
    public var blendScale: BlendScale = .max
    /// Served recall only: a list shorter than `count` is padded with the `popular` list
    /// (its entries marked as fallback). Stored u2i2i lists are never padded.
    public var fallback: Bool = true

    public init() {}

    /// A stable text for fingerprints.
    public var fingerprint: String {
        "n=\(count),seeds=\(maxSeeds),neighbours=\(maxNeighbours),seen=\(excludeSeen),perAuthor=\(perAuthor),own=\(excludeOwnItems),scale=\(blendScale.rawValue)"
    }
}

/// How the lists of a blend of two or more algorithms are put on one scale before their
/// weights apply (a single algorithm's list is always used as it is).
public enum BlendScale: String, Sendable, Hashable, CaseIterable {
    /// Each seed's list is divided by its own top score: every seed's best neighbour under
    /// every algorithm counts 1.
    case max
    /// Raw scores, each algorithm on its own scale.
    case raw
}
