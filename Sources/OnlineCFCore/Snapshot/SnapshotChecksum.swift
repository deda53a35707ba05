/// A 64-bit checksum of a snapshot's bytes, checked when it is read back from the KV
/// store: a chunk overwritten, cut short or mixed with another snapshot's is detected.
///
/// Eight bytes at a time (little-endian words, the tail zero-padded), each mixed into one
/// of four lanes with a multiply and a rotation, then the lanes, the length and a final
/// avalanche: several bytes per cycle, so a snapshot of gigabytes is checked in a
/// fraction of a second.
/// Computed over the whole string at once (``of(_:)``) or chunk by chunk as it streams
/// (``update(_:)``, every chunk but the last a multiple of 8 bytes long); both give the
/// same value. Not cryptographic.
public struct SnapshotChecksum: Sendable {
    /// Four independent lanes (word n goes to lane n mod 4), so that the mixes of
    /// neighbouring words overlap in the processor instead of waiting for each other.
    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x85EB_CA77_C2B2_AE63)
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

    @inline(__always)
    private static func mix(_ lanes: inout (UInt64, UInt64, UInt64, UInt64), lane: Int, _ v: UInt64) {
        switch lane {
        case 0: lanes.0 = mix(lanes.0, v)
        case 1: lanes.1 = mix(lanes.1, v)
        case 2: lanes.2 = mix(lanes.2, v)
        default: lanes.3 = mix(lanes.3, v)
        }
    }

    /// Adds the next bytes. Only the last update may have a length that is not a
    /// multiple of 8 (empty updates are ignored).
    public mutating func update(_ bytes: ArraySlice<UInt8>) {
        if bytes.isEmpty { return }
        precondition(!ended, "a checksum updated after a chunk whose length is not a multiple of 8")
        var lanes = self.lanes
        var word = count / 8
        count += bytes.count
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            var w = 0
            // Up to the next word of lane 0, then four words a round, then the rest.
            while w < words && (word + w) & 3 != 0 {
                Self.mix(&lanes, lane: (word + w) & 3, raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self))
                w += 1
            }
            while w + 4 <= words {
                lanes.0 = Self.mix(lanes.0, raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self))
                lanes.1 = Self.mix(lanes.1, raw.loadUnaligned(fromByteOffset: w * 8 + 8, as: UInt64.self))
                lanes.2 = Self.mix(lanes.2, raw.loadUnaligned(fromByteOffset: w * 8 + 16, as: UInt64.self))
                lanes.3 = Self.mix(lanes.3, raw.loadUnaligned(fromByteOffset: w * 8 + 24, as: UInt64.self))
                w += 4
            }
            while w < words {
                Self.mix(&lanes, lane: (word + w) & 3, raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self))
                w += 1
            }
            word += words
            if raw.count % 8 != 0 {
                var tail: UInt64 = 0
                for (n, b) in raw[(words * 8)...].enumerated() { tail |= UInt64(b) << (8 * UInt64(n)) }
                Self.mix(&lanes, lane: word & 3, tail)
                ended = true
            }
        }
        self.lanes = lanes
    }

    /// The checksum of everything added.
    public var value: UInt64 {
        var h = Self.mix(Self.mix(Self.mix(Self.mix(lanes.0, lanes.1), lanes.2), lanes.3), UInt64(count))
        h ^= h >> 31
        h &*= 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }
}
