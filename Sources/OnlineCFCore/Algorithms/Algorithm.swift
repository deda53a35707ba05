/// The kind of list an algorithm produces: whose neighbours it lists.
public enum ListKind: String, Sendable {
    case i2i, u2u, a2a
}

/// The algorithms OnlineCF maintains. The raw value is the public name used by
/// `--algos`, `--algo`, `export` and the key schema.
public enum Algorithm: String, Sendable, CaseIterable, Comparable {
    case itemcfCooccurrence = "itemcf:cooccurrence"
    case itemcfCosine = "itemcf:cosine"
    case itemcfJaccard = "itemcf:jaccard"
    case itemcfLift = "itemcf:lift"
    case u2uCosine = "u2u:cosine"
    case a2aCosine = "a2a:cosine"
    case swing = "swing"

    public static func < (a: Algorithm, b: Algorithm) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public var kind: ListKind {
        switch self {
        case .itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift, .swing: return .i2i
        case .u2uCosine: return .u2u
        case .a2aCosine: return .a2a
        }
    }

    /// The similarity measure applied to the algorithm's co-occurrence counts (nil for
    /// Swing, which has scores of its own).
    public var measure: SimilarityMeasure? {
        switch self {
        case .swing: return nil
        case .itemcfCooccurrence: return .cooccurrence
        case .itemcfCosine, .u2uCosine, .a2aCosine: return .cosine
        case .itemcfJaccard: return .jaccard
        case .itemcfLift: return .lift
        }
    }

    /// Names accepted by `--algos`, with the algorithms each stands for.
    public static let groups: [(name: String, algorithms: [Algorithm])] = [
        ("all", Algorithm.allCases),
        ("itemcf", [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift]),
        ("u2u", [.u2uCosine]),
        ("a2a", [.a2aCosine]),
        ("cooccurrence", [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift, .u2uCosine, .a2aCosine]),
    ]

    /// Parses a comma-separated list of algorithm or group names (`all`, `itemcf`, `u2u`,
    /// `a2a`, `cooccurrence` = all but Swing, or any full name such as `itemcf:cosine` or `swing`).
    public static func parseList(_ text: String) throws(AlgorithmListError) -> Set<Algorithm> {
        var result = Set<Algorithm>()
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let name = part.trimmingSpaces()
            if let algorithm = Algorithm(rawValue: name) {
                result.insert(algorithm)
            } else if let group = groups.first(where: { $0.name == name }) {
                result.formUnion(group.algorithms)
            } else {
                throw AlgorithmListError(name: name)
            }
        }
        if result.isEmpty { throw AlgorithmListError(name: text) }
        return result
    }
}

/// An unknown name in an algorithm list.
public struct AlgorithmListError: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var description: String {
        let known = (Algorithm.groups.map(\.name) + Algorithm.allCases.map(\.rawValue)).joined(separator: ", ")
        return "unknown algorithm '\(name)'; known: \(known)"
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
