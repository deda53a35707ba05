/// How a co-occurrence count becomes a similarity score. With `C` the co-occurrence
/// count of a and b, and `d_a`, `d_b` their degrees:
///
/// | measure | score |
/// | --- | --- |
/// | cooccurrence | C |
/// | cosine | C / √(d_a · d_b) |
/// | jaccard | C / (d_a + d_b − C) |
/// | lift | C / (d_a · d_b) |
///
/// Computed in `Double` exactly as written (one division, one square root), so an
/// independent implementation of the same expression gets the same bits.
public enum SimilarityMeasure: String, Sendable, CaseIterable {
    case cooccurrence, cosine, jaccard, lift

    /// Whether the score depends on degrees (so a degree change re-scores neighbours).
    public var isNormalised: Bool { self != .cooccurrence }

    @inline(__always)
    public func score(count c: UInt32, degreeA da: UInt32, degreeB db: UInt32) -> Double {
        weightedScore(count: Double(c), degreeA: Double(da), degreeB: Double(db))
    }

    /// A quick, conservative test without the division or square root: true only when
    /// ``weightedScore(count:degreeA:degreeB:)`` is certainly below `bound` (> 0), by a
    /// margin far wider than rounding. False says nothing: compute the score.
    @inline(__always)
    public func scoreIsCertainlyBelow(_ bound: Double, count c: Double, degreeA a: Double, degreeB b: Double) -> Bool {
        let margin = 1 - 1e-9
        switch self {
        case .cooccurrence: return c < bound * margin
        case .cosine: return c * c < bound * bound * (a * b) * margin
        case .jaccard: return c < bound * (a + b - c) * margin
        case .lift: return c < bound * (a * b) * margin
        }
    }

    /// Whether multiplying count and degrees by one factor leaves the score unchanged.
    public var isScaleInvariant: Bool { self == .cosine || self == .jaccard }

    /// The score of weighted (or decayed) counts: the same expressions.
    @inline(__always)
    public func weightedScore(count c: Double, degreeA a: Double, degreeB b: Double) -> Double {
        switch self {
        case .cooccurrence: return c
        case .cosine: return c / (a * b).squareRoot()
        case .jaccard: return c / (a + b - c)
        case .lift: return c / (a * b)
        }
    }
}
