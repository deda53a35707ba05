/// SplitMix64 (Steele, Lea & Flood 2014). Used to expand a 64-bit seed into
/// ``Xoshiro256StarStar`` state and to derive independent sub-seeds.
///
/// Guarantee: the output sequence for a seed is fixed forever, on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman & Vigna), seeded through ``SplitMix64``.
///
/// Guarantee: a seed gives the same sequence on every machine and Swift version (unlike
/// `SystemRandomNumberGenerator`). Not cryptographically secure.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform integer in 0..<bound (bound > 0), by multiply-high (Lemire); the tiny bias
    /// (< bound / 2^64) is irrelevant here and keeps the sequence simple and portable.
    @inline(__always)
    public mutating func nextBelow(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}

/// Natural logarithm and exponential built only from IEEE-754 basic operations (which are
/// correctly rounded everywhere), so generated data does not depend on the platform's libm.
enum PortableMath {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458

    /// ln(x) for finite x > 0.
    static func log(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite)
        // x = m * 2^e with m in [1, 2), then move m to [sqrt(1/2), sqrt(2)).
        var e = Double(x.exponent)
        var m = x.significand
        if m > 1.414_213_562_373_095_1 { m /= 2; e += 1 }
        // ln(m) = 2 atanh(z), z = (m-1)/(m+1), |z| < 0.172.
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var k = 1.0
        for _ in 0..<24 {
            sum += term / k
            term *= z2
            k += 2
        }
        return 2 * sum + e * ln2
    }

    /// e^x for x in a sane range (|x| < 700).
    static func exp(_ x: Double) -> Double {
        let t = x / ln2
        let n = Double(Int(t < 0 ? t - 0.5 : t + 0.5))  // round half away (no libm)
        // Cody–Waite reduction: ln2 = ln2Hi + ln2Lo, n * ln2Hi exact for |n| < 2^20.
        let r = (x - n * 0.693_147_180_369_123_816_49) - n * 1.908_214_929_270_587_700_02e-10
        var term = 1.0
        var sum = 1.0
        for k in 1...24 {
            term *= r / Double(k)
            sum += term
        }
        return sum * Double(sign: .plus, exponent: Int(n), significand: 1)
    }

    /// x^y for x > 0.
    static func pow(_ x: Double, _ y: Double) -> Double {
        if y == 0 { return 1 }
        if y == -1 { return 1 / x }
        if y == 1 { return x }
        return exp(y * log(x))
    }
}
