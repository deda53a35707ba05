/// Weights of user actions: how much one event of each action counts as a seed of a
/// user's recall (and, later, in weighted statistics).
///
/// Guarantees: an action missing from the table, or an event without an action, weighs
/// ``defaultWeight`` (1 unless configured); every weight is finite. The text form
/// `click=1,like=2,share=3` parses back to the same table.
public struct ActionWeights: Sendable, Hashable, CustomStringConvertible {
    public private(set) var table: [String: Double]
    public var defaultWeight: Double

    public init(_ table: [String: Double] = [:], defaultWeight: Double = 1) {
        self.table = table
        self.defaultWeight = defaultWeight
    }

    @inline(__always)
    public func weight(of action: String?) -> Double {
        guard let action, let w = table[action] else { return defaultWeight }
        return w
    }

    /// Parses `action=weight` pairs separated by commas; `*=w` sets the default weight.
    public init(parsing text: String) throws(ActionWeightsError) {
        var table: [String: Double] = [:]
        var fallback = 1.0
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard pair.count == 2, !pair[0].isEmpty, let w = Double(pair[1]), w.isFinite else {
                throw ActionWeightsError(text: String(part))
            }
            if pair[0] == "*" { fallback = w } else { table[pair[0]] = w }
        }
        self.init(table, defaultWeight: fallback)
    }

    public var description: String {
        var parts = table.keys.sorted { $0.utf8Precedes($1) }.map { "\($0)=\(table[$0]!)" }
        if defaultWeight != 1 { parts.append("*=\(defaultWeight)") }
        return parts.joined(separator: ",")
    }
}

public struct ActionWeightsError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var description: String {
        "'\(text)' is not action=weight (example: click=1,like=2,share=3; '*=0.5' sets the weight of other actions)"
    }
}
