/// The Redis Cluster hash slot of a key: CRC16 (XMODEM variant, as in Redis's
/// `crc16.c`) of the key, modulo 16384.
///
/// Guarantees: identical to the server's `CLUSTER KEYSLOT` for every byte string,
/// including hash tags — when the key contains a `{` followed later by a `}` with at
/// least one byte between them, only the bytes between the first `{` and the first
/// `}` after it are hashed; otherwise the whole key is hashed. Pure, allocation-free.
public struct HashSlot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Number of hash slots in a Redis Cluster.
    public static let count = 16384

    /// The slot number, `0..<16384`.
    public let rawValue: Int

    /// A slot by number; nil when outside `0..<16384`.
    public init?(rawValue: Int) {
        guard (0..<Self.count).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// The slot of `key` (raw bytes), honouring hash tags.
    public init<Key: Collection>(key: Key) where Key.Element == UInt8 {
        let hashed = Self.hashedPart(of: key)
        rawValue = Int(Self.crc16(hashed) & UInt16(Self.count - 1))
    }

    /// The slot of a UTF-8 key.
    public init(key: String) {
        self.init(key: key.utf8)
    }

    /// The part of the key that is hashed: the hash tag if there is a non-empty one,
    /// else the whole key.
    public static func hashedPart<Key: Collection>(of key: Key) -> Key.SubSequence where Key.Element == UInt8 {
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                return key[afterOpen..<close]
            }
        }
        return key[...]
    }

    /// CRC16-CCITT, XMODEM variant (polynomial 0x1021, initial value 0, no reflection,
    /// no final XOR), as used by Redis Cluster.
    public static func crc16<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }

    private static let table: [UInt16] = (0..<256).map { (index: Int) -> UInt16 in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
