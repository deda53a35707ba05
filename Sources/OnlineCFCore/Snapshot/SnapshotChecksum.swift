/// A 64-bit checksum of a snapshot's bytes, checked when it is read back from the KV
/// store: a chunk overwritten, cut short or mixed with another snapshot's is detected.
///
/// Eight bytes at a time (little-endian words, the tail zero-padded), each mixed in with a
/// multiply and a rotation, then the length and a final avalanche: about a byte per
/// cycle, so a snapshot of hundreds of megabytes is checked in a fraction of a second.
/// Computed over the whole string at once (``of(_:)``) or chunk by chunk as it streams
/// (``update(_:)``, every chunk but the last a multiple of 8 bytes long); both give the
/// same value. Not cryptographic.
public struct SnapshotChecksum: Sendable {
    private var h: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var count = 0
    private var ended = false

    public init() {}

    public static func of(_ bytes: [UInt8]) -> UInt64 {
        var checksum = SnapshotChecksum()
        checksum.update(bytes[...])
        return checksum.value
    }

    @inline(__always)
    private static func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
        let m = (h ^ (v &* 0xBF58_476D_1CE4_E5B9)) &* 0x94D0_49BB_1331_11EB
        return (m << 29) | (m >> 35)
    }

    /// Adds the next bytes. Only the last update may have a length that is not a
    /// multiple of 8 (empty updates are ignored).
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        if bytes.isEmpty { return }
        precondition(!ended, "a checksum updated after a chunk whose length is not a multiple of 8")
        count += bytes.count
        var h = self.h
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            for w in 0..<words { h = Self.mix(h, raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)) }
            if raw.count % 8 != 0 {
                var tail: UInt64 = 0
                for (n, b) in raw[(words * 8)...].enumerated() { tail |= UInt64(b) << (8 * UInt64(n)) }
                h = Self.mix(h, tail)
                ended = true
            }
        }
        self.h = h
    }

    /// The checksum of everything added.
    public var value: UInt64 {
        var h = Self.mix(self.h, UInt64(count))
        h ^= h >> 31
        h &*= 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }
}
