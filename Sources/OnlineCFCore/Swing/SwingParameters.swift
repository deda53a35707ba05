/// Swing's parameters, with Apache Flink ML 2.3's defaults.
///
/// - Users are kept when `minUserBehavior ≤ |I_u| ≤ maxUserBehavior`; others are left out.
/// - User weight `w_u = 1 / (alpha1 + |I_u|)^beta`.
/// - Each item's users `L_i` are at most `maxUserNumPerItem`, sampled (see ``SwingSampler``).
/// - `score(i, j) = Σ_{ {u,v} ⊆ L_i, u ≠ v, j ∈ I_u ∩ I_v, j ≠ i } w_u·w_v / (alpha2 + |I_u ∩ I_v|)`.
public struct SwingParameters: Sendable, Hashable {
    public var alpha1: Double = 15
    public var alpha2: Double = 0
    public var beta: Double = 0.3
    public var minUserBehavior: Int = 10
    public var maxUserBehavior: Int = 1000
    public var maxUserNumPerItem: Int = 1000
    /// Seed of the per-item reservoir sampling.
    public var seed: UInt64 = 0
    /// Streaming only: a user's new item meets at most this many of the item's most
    /// recent users (0 = all).
    public var streamingUserWindow: Int = 50
    /// Streaming only: rows recomputed exactly per refresh (each emission), oldest change
    /// first (see ``StreamingSwing``); events whose rows are all within this reach add no
    /// increments. 0: increments only. Not part of ``fingerprint``: any value gives a valid
    /// state, and a change of it leaves the rows as they are.
    public var refreshRows: Int = 20_000

    public init() {}

    @inline(__always)
    public func isKept(itemCount n: Int) -> Bool { n >= minUserBehavior && n <= maxUserBehavior }

    @inline(__always)
    public func weight(itemCount n: Int) -> Double { 1 / pow(alpha1 + Double(n), beta) }

    public var fingerprint: String {
        "alpha1=\(alpha1),alpha2=\(alpha2),beta=\(beta),minUserBehavior=\(minUserBehavior),maxUserBehavior=\(maxUserBehavior),maxUserNumPerItem=\(maxUserNumPerItem),seed=\(seed),window=\(streamingUserWindow)"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
