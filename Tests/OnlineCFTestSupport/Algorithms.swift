import OnlineCFCore

extension Algorithm {
    /// The co-occurrence algorithms, which `BruteForce.lists` computes (Swing has `BruteForce.swing`).
    public static let cooccurrenceAlgorithms = allCases.filter { $0 != .swing }
}
