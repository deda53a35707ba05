/// A family of lists OnlineCF writes, one sorted set per entity: an algorithm's
/// neighbour lists, or the per-user recall outputs.
public enum ListFamily: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// An algorithm's lists (i2i, u2u, a2a).
    case algorithm(Algorithm)
    /// A user's recent items → seed weight (u2i2i's "recent" seeds).
    case recent
    /// A user's u2i2i recall: item → score.
    case u2i2i
    /// What is popular now (``PopularItems``): one list, whose id is `all`, item → count.
    case popular

    /// Whose lists these are: items (i2i), users (u2u, recent, u2i2i) or authors (a2a).
    public var entityKind: ListKind {
        switch self {
        case .algorithm(let a): return a.kind
        case .recent, .u2i2i: return .u2u
        case .popular: return .i2i
        }
    }

    /// What the lists hold: items (i2i, recent, u2i2i), users (u2u) or authors (a2a).
    public var memberKind: ListKind {
        switch self {
        case .algorithm(let a): return a.kind
        case .recent, .u2i2i, .popular: return .i2i
        }
    }

    /// The name used in keys and messages.
    public var name: String {
        switch self {
        case .algorithm(let a): return a.rawValue
        case .recent: return "recent"
        case .u2i2i: return "u2i2i"
        case .popular: return "popular"
        }
    }

    public var description: String { name }

    private var order: Int {
        switch self {
        case .algorithm(let a): return Algorithm.allCases.firstIndex(of: a)!
        case .recent: return 100
        case .u2i2i: return 101
        case .popular: return 102
        }
    }

    public static func < (a: ListFamily, b: ListFamily) -> Bool { a.order < b.order }

    /// The id of the one `popular` list.
    public static let popularId = "all"
}
