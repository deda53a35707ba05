/// Which i2i lists u2i2i recall expands seeds through, and how much each counts:
/// `score(u, j) = Σ_a w_a · Σ_i seed(u, i) · sim_a(i, j)`.
///
/// Text form (the `--algo` option): comma-separated `ALGO[:WEIGHT]`, e.g.
/// `swing:0.6,itemcf:cosine:0.4` or `itemcf:jaccard` (weight 1). Guarantees: at least one
/// part; every algorithm an i2i one, at most once; every weight finite and > 0.
public struct RecallBlend: Sendable, Hashable, CustomStringConvertible {
    public struct Part: Sendable, Hashable {
        public var algorithm: Algorithm
        public var weight: Double
        public init(algorithm: Algorithm, weight: Double = 1) { self.algorithm = algorithm; self.weight = weight }
    }
    public private(set) var parts: [Part]

    public init(_ parts: [Part]) { self.parts = parts }
    public init(_ algorithm: Algorithm) { self.parts = [Part(algorithm: algorithm)] }

    public init(parsing text: String) throws(RecallBlendError) {
        var parts: [Part] = []
        for raw in text.split(separator: ",") {
            let part = raw.trimmingSpaces()
            var name = part, weight = 1.0
            if let colon = part.lastIndex(of: ":"), let w = Double(part[part.index(after: colon)...]) {
                name = String(part[..<colon]); weight = w
            }
            guard let algorithm = Algorithm(rawValue: name), algorithm.kind == .i2i else {
                throw RecallBlendError(message: "'\(name)' is not an i2i algorithm; use swing, itemcf:cooccurrence, itemcf:cosine, itemcf:jaccard or itemcf:lift")
            }
            guard weight.isFinite, weight > 0 else { throw RecallBlendError(message: "the weight of \(name) must be a number > 0") }
            guard !parts.contains(where: { $0.algorithm == algorithm }) else {
                throw RecallBlendError(message: "\(name) appears twice")
            }
            parts.append(Part(algorithm: algorithm, weight: weight))
        }
        guard !parts.isEmpty else { throw RecallBlendError(message: "name at least one i2i algorithm, e.g. swing:0.6,itemcf:cosine:0.4") }
        self.parts = parts
    }

    public var algorithms: [Algorithm] { parts.map(\.algorithm) }

    public var description: String {
        parts.map { $0.weight == 1 ? $0.algorithm.rawValue : "\($0.algorithm.rawValue):\($0.weight)" }.joined(separator: ",")
    }
}

public struct RecallBlendError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
