/// A 64-bit checksum of a snapshot's bytes, checked when it is read back from the KV
/// store: a chunk overwritten, cut short or mixed with another snapshot's is detected.
///
/// Eight bytes at a time (little-endian words, the tail zero-padded), each mixed in with a
/// multiply and a rotation, then a final avalanche: about a byte per cycle, so a snapshot
/// of hundreds of megabytes is checked in a fraction of a second. Not cryptographic.
public enum SnapshotChecksum {
    public static func of(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            for w in 0..<words {
                let v = raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)
                h = ((h ^ (v &* 0xBF58_476D_1CE4_E5B9)) &* 0x94D0_49BB_1331_11EB)
                h = (h << 29) | (h >> 35)
            }
            var tail: UInt64 = 0
            for (n, b) in raw[(words * 8)...].enumerated() { tail |= UInt64(b) << (8 * UInt64(n)) }
            h = (h ^ (tail &* 0xBF58_476D_1CE4_E5B9)) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 31
        h &*= 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }
}
