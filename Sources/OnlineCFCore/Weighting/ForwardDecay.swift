#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exponential time decay in forward form (Cormode et al., "Forward Decay", 2009).
///
/// A contribution `w` made at event time `t` is stored as `w · g(t)` with
/// `g(t) = 2^((t − L)/halfLife)` for a landmark `L`; its decayed value at time `now` is
/// the stored value times `2^(−(now − L)/halfLife)`. Stored values never change as time
/// passes, and sums of them decay as a whole, which is what keeps decayed co-occurrence
/// exact and incremental. When `(t − L)/halfLife` grows past ``rescaleExponent`` the
/// caller moves the landmark (``rescaleFactor(for:)``) and multiplies every stored value
/// by the factor, so nothing overflows on long streams.
public struct ForwardDecay: Sendable, Hashable {
    public let halfLifeMillis: Int64
    public private(set) var landmarkMillis: Int64?
    public static let rescaleExponent = 256.0

    public init(halfLifeMillis: Int64) {
        precondition(halfLifeMillis > 0)
        self.halfLifeMillis = halfLifeMillis
    }

    /// `g(t)`; the first call fixes the landmark at `t`.
    public mutating func growth(at t: Int64) -> Double {
        if landmarkMillis == nil { landmarkMillis = t }
        return exp2(Double(t - landmarkMillis!) / Double(halfLifeMillis))
    }

    /// `2^(−(now − L)/halfLife)`: turns stored values into decayed values at `now`.
    public func factor(at now: Int64) -> Double {
        guard let l = landmarkMillis else { return 1 }
        return exp2(-Double(now - l) / Double(halfLifeMillis))
    }

    /// When `t` is far past the landmark, moves the landmark to `t` and returns the factor
    /// every stored value must be multiplied by; nil when no move is needed.
    public mutating func rescaleFactor(for t: Int64) -> Double? {
        guard let l = landmarkMillis, Double(t - l) / Double(halfLifeMillis) > Self.rescaleExponent else { return nil }
        landmarkMillis = t
        return exp2(-Double(t - l) / Double(halfLifeMillis))
    }
}

extension ForwardDecay {
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(bool: landmarkMillis != nil)
        encoder.write(value: landmarkMillis ?? 0)
    }

    public init(from decoder: inout SnapshotDecoder, halfLifeMillis: Int64) throws(SnapshotError) {
        self.init(halfLifeMillis: halfLifeMillis)
        let has = try decoder.readBool()
        let landmark: Int64 = try decoder.read()
        landmarkMillis = has ? landmark : nil
    }
}
