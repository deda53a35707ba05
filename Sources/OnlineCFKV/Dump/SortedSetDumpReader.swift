#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the payload of `DUMP key` for a sorted set kept as a listpack (the form every
/// list OnlineCF writes takes under Redis' default limits), so a reader gets a whole list
/// from one bulk string instead of a reply element per member and per score.
///
/// Accepted: RDB type `RDB_TYPE_ZSET_LISTPACK` (17), the listpack as a plain or
/// LZF-compressed RDB string, any RDB version (the trailer's version and CRC are not
/// checked: the server produced them for this very reply). Anything else — a skiplist
/// (more than 128 members), an older encoding, a malformed payload — gives nil, and the
/// caller reads the key with `ZRANGE … WITHSCORES` instead.
extension SortedSetDump {
    /// The (member, score) pairs of a DUMP payload, in the listpack's order (ascending
    /// score, then member byte-wise), or nil when the payload is not a listpack zset.
    public static func members(ofPayload payload: [UInt8]) -> [(member: [UInt8], score: Double)]? {
        guard payload.count > 11, payload[0] == typeZSetListpack else { return nil }
        var reader = ByteReader(bytes: payload, position: 1)
        guard let lp = reader.rdbString() else { return nil }
        return listpackPairs(lp)
    }

    /// Member, score pairs of a zset listpack.
    static func listpackPairs(_ lp: [UInt8]) -> [(member: [UInt8], score: Double)]? {
        guard lp.count >= 7 else { return nil }
        var out: [(member: [UInt8], score: Double)] = []
        var p = 6
        var member: [UInt8]?
        while p < lp.count, lp[p] != 0xFF {
            guard let (entry, next) = listpackEntry(lp, at: p) else { return nil }
            if let m = member {
                let score: Double
                switch entry {
                case .integer(let v): score = Double(v)
                case .string(let s): guard let d = parseDouble(s) else { return nil }; score = d
                }
                out.append((m, score))
                member = nil
            } else {
                switch entry {
                case .integer(let v): member = Array(String(v).utf8)
                case .string(let s): member = s
                }
            }
            p = next
        }
        return member == nil ? out : nil
    }

    enum ListpackEntry {
        case integer(Int64)
        case string([UInt8])
    }

    /// The entry at `p` and the position after its back-length.
    static func listpackEntry(_ lp: [UInt8], at p: Int) -> (ListpackEntry, Int)? {
        let b = lp[p]
        var entry: ListpackEntry
        var end: Int
        func le(_ from: Int, _ n: Int) -> UInt64? {
            guard from + n <= lp.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(lp[from + i]) << (8 * UInt64(i)) }
            return v
        }
        func string(_ from: Int, _ n: Int) -> [UInt8]? { from + n <= lp.count ? Array(lp[from..<(from + n)]) : nil }
        if b & 0x80 == 0 {
            entry = .integer(Int64(b)); end = p + 1
        } else if b & 0xC0 == 0x80 {
            let n = Int(b & 0x3F)
            guard let s = string(p + 1, n) else { return nil }
            entry = .string(s); end = p + 1 + n
        } else if b & 0xE0 == 0xC0 {
            guard p + 1 < lp.count else { return nil }
            let u = UInt16(b & 0x1F) << 8 | UInt16(lp[p + 1])
            entry = .integer(u >= 4096 ? Int64(u) - 8192 : Int64(u)); end = p + 2
        } else if b & 0xF0 == 0xE0 {
            guard p + 1 < lp.count else { return nil }
            let n = Int(b & 0x0F) << 8 | Int(lp[p + 1])
            guard let s = string(p + 2, n) else { return nil }
            entry = .string(s); end = p + 2 + n
        } else {
            switch b {
            case 0xF0:
                guard let n = le(p + 1, 4), let s = string(p + 5, Int(n)) else { return nil }
                entry = .string(s); end = p + 5 + Int(n)
            case 0xF1: guard let v = le(p + 1, 2) else { return nil }; entry = .integer(Int64(Int16(truncatingIfNeeded: v))); end = p + 3
            case 0xF2:
                guard let v = le(p + 1, 3) else { return nil }
                entry = .integer(Int64(Int32(truncatingIfNeeded: v << 8) >> 8)); end = p + 4
            case 0xF3: guard let v = le(p + 1, 4) else { return nil }; entry = .integer(Int64(Int32(truncatingIfNeeded: v))); end = p + 5
            case 0xF4: guard let v = le(p + 1, 8) else { return nil }; entry = .integer(Int64(bitPattern: v)); end = p + 9
            default: return nil
            }
        }
        // The back-length: 1 to 5 bytes, by the entry's length.
        let l = end - p
        let backLength = l <= 127 ? 1 : l < 16383 ? 2 : l < 2_097_151 ? 3 : l < 268_435_455 ? 4 : 5
        guard end + backLength <= lp.count else { return nil }
        return (entry, end + backLength)
    }

    /// A decimal score as Redis writes it (`1.5`, `-0.25`, `1e-20`, `inf`, `-inf`).
    static func parseDouble(_ bytes: [UInt8]) -> Double? {
        guard !bytes.isEmpty, bytes.count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
            buffer[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let v = strtod(buffer.baseAddress!, &end)
            return end == buffer.baseAddress! + bytes.count ? v : nil
        }
    }
}

/// Reads RDB-encoded values from a byte array.
struct ByteReader {
    let bytes: [UInt8]
    var position: Int

    mutating func byte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    /// An RDB length, or the special-encoding tag in the low bits when `encoded`.
    mutating func length() -> (value: Int, encoded: Bool)? {
        guard let first = byte() else { return nil }
        switch first >> 6 {
        case 0: return (Int(first & 0x3F), false)
        case 1: guard let b = byte() else { return nil }; return (Int(first & 0x3F) << 8 | Int(b), false)
        case 2:
            let n = first == 0x80 ? 4 : first == 0x81 ? 8 : 0
            guard n > 0, position + n <= bytes.count else { return nil }
            var v = 0
            for _ in 0..<n { v = v << 8 | Int(bytes[position]); position += 1 }
            return (v, false)
        default: return (Int(first & 0x3F), true)
        }
    }

    /// A plain or LZF-compressed RDB string (integer-encoded strings are not expected here).
    mutating func rdbString() -> [UInt8]? {
        guard let (n, encoded) = length() else { return nil }
        if !encoded {
            guard position + n <= bytes.count else { return nil }
            defer { position += n }
            return Array(bytes[position..<(position + n)])
        }
        guard n == 3, let (compressed, c1) = length(), let (plain, c2) = length(), !c1, !c2,
              position + compressed <= bytes.count else { return nil }
        defer { position += compressed }
        return LZF.decompress(bytes[position..<(position + compressed)], length: plain)
    }
}

/// LZF decompression (the format of Redis' compressed RDB strings).
enum LZF {
    static func decompress(_ input: ArraySlice<UInt8>, length: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        var i = input.startIndex
        while i < input.endIndex {
            let ctrl = Int(input[i]); i += 1
            if ctrl < 32 {
                let n = ctrl + 1
                guard i + n <= input.endIndex else { return nil }
                out.append(contentsOf: input[i..<(i + n)]); i += n
            } else {
                var n = ctrl >> 5
                if n == 7 { guard i < input.endIndex else { return nil }; n += Int(input[i]); i += 1 }
                guard i < input.endIndex else { return nil }
                let back = ((ctrl & 0x1F) << 8) + Int(input[i]) + 1; i += 1
                var from = out.count - back
                guard from >= 0 else { return nil }
                for _ in 0..<(n + 2) { out.append(out[from]); from += 1 }
            }
        }
        return out.count == length ? out : nil
    }
}
