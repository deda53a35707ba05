/// Builds the payload of `RESTORE key 0 payload REPLACE` for a small sorted set, so that
/// Redis loads a whole list in one step instead of inserting member by member (ZADD into
/// a listpack costs Redis about 1.2 µs a member; loading a ready listpack a fraction).
///
/// The payload is the DUMP format of Redis ≥ 7.0 (RDB version 10): the type byte
/// `RDB_TYPE_ZSET_LISTPACK` (17), the listpack as an RDB string, the RDB version as two
/// bytes little-endian, and the CRC-64 of all that, eight bytes little-endian. The
/// listpack holds member, score pairs in ascending (score, member byte-wise) order, as
/// Redis keeps them; members that are canonical integers are integer-encoded, as Redis
/// would store them; scores are written in their shortest round-trip decimal form.
///
/// Guarantees: ``payload(_:)`` returns nil for sets Redis would not keep as a listpack
/// under its default limits (more than 128 members, a member longer than 64 bytes), which
/// callers then write with ZADD; otherwise `ZRANGE … WITHSCORES` on the restored key
/// returns exactly the given members and scores.
public enum SortedSetDump {
    public static let maxEntries = 128
    public static let maxMemberBytes = 64
    static let rdbVersion: UInt16 = 10
    static let typeZSetListpack: UInt8 = 17

    /// `members`: (member bytes, score), any order, members distinct, scores finite.
    public static func payload(_ members: [(member: [UInt8], score: Double)]) -> [UInt8]? {
        guard !members.isEmpty, members.count <= maxEntries, members.allSatisfy({ $0.member.count <= maxMemberBytes }) else { return nil }
        let sorted = ascending(members)
        var lp: [UInt8] = [0, 0, 0, 0, 0, 0]
        lp.reserveCapacity(6 + members.count * 32)
        for (member, score) in sorted {
            member.withUnsafeBufferPointer { appendEntry($0, to: &lp) }
            var s = shortest(score)
            s.withUTF8 { appendEntry($0, to: &lp) }
        }
        return finish(listpack: &lp, entries: sorted.count)
    }

    /// The payload of `count` members given best first (score descending, ties by member
    /// byte-wise ascending: the order of a top-k list), read through `member` and `score`
    /// without copying members. Same result as ``payload(_:)``; a list not in that order
    /// is sorted by ``payload(_:)`` instead.
    public static func payload(bestFirst count: Int, member: (Int) -> String, score: (Int) -> Double) -> [UInt8]? {
        guard count > 0, count <= maxEntries else { return nil }
        var bytes = 0
        for n in 0..<count {
            let m = member(n).utf8.count
            guard m <= maxMemberBytes else { return nil }
            bytes += m
            if n > 0 {
                let a = score(n - 1), b = score(n)
                if a < b || (a == b && !member(n - 1).utf8.lexicographicallyPrecedes(member(n).utf8)) {
                    return payload((0..<count).map { (Array(member($0).utf8), score($0)) })
                }
            }
        }
        var lp: [UInt8] = [0, 0, 0, 0, 0, 0]
        lp.reserveCapacity(16 + bytes + count * 28)
        // Ascending: the runs of equal scores from the last to the first, each in its order.
        var end = count
        while end > 0 {
            var start = end - 1
            while start > 0 && score(start - 1) == score(end - 1) { start -= 1 }
            for n in start..<end {
                var m = member(n)
                m.withUTF8 { appendEntry($0, to: &lp) }
                var s = shortest(score(n))
                s.withUTF8 { appendEntry($0, to: &lp) }
            }
            end = start
        }
        return finish(listpack: &lp, entries: count)
    }

    /// Completes a listpack (terminator, header) and wraps it as a DUMP payload.
    static func finish(listpack lp: inout [UInt8], entries: Int) -> [UInt8] {
        lp.append(0xFF)
        let total = UInt32(lp.count), count = UInt16(2 * entries)
        lp[0] = UInt8(total & 0xFF); lp[1] = UInt8((total >> 8) & 0xFF); lp[2] = UInt8((total >> 16) & 0xFF); lp[3] = UInt8(total >> 24)
        lp[4] = UInt8(count & 0xFF); lp[5] = UInt8(count >> 8)
        var out: [UInt8] = [typeZSetListpack]
        out.reserveCapacity(lp.count + 16)
        appendRDBLength(lp.count, to: &out)
        out += lp
        out.append(UInt8(rdbVersion & 0xFF)); out.append(UInt8(rdbVersion >> 8))
        var crc = CRC64.checksum(out)
        for _ in 0..<8 { out.append(UInt8(crc & 0xFF)); crc >>= 8 }
        return out
    }

    /// The members in ascending (score, member byte-wise) order. Lists arrive best first
    /// with ties by member ascending (top-k order): those are reversed, each run of equal
    /// scores reversed back, without comparing members; anything else is sorted.
    static func ascending(_ members: [(member: [UInt8], score: Double)]) -> [(member: [UInt8], score: Double)] {
        var bestFirst = true
        for n in members.indices.dropFirst() {
            let a = members[n - 1], b = members[n]
            if a.score < b.score || (a.score == b.score && !a.member.lexicographicallyPrecedes(b.member)) { bestFirst = false; break }
        }
        guard bestFirst else {
            return members.sorted { $0.score != $1.score ? $0.score < $1.score : $0.member.lexicographicallyPrecedes($1.member) }
        }
        var out: [(member: [UInt8], score: Double)] = []
        out.reserveCapacity(members.count)
        var end = members.count
        while end > 0 {
            var start = end - 1
            while start > 0 && members[start - 1].score == members[end - 1].score { start -= 1 }
            out.append(contentsOf: members[start..<end])
            end = start
        }
        return out
    }

    /// Scores as Redis would parse them back to the same double.
    static func shortest(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(x)   // Swift's shortest round-trip form, e.g. 0.4472135954999579 or 1e-20
    }

    /// The value of `bytes` if Redis' string2ll would read it as an integer (no sign
    /// but '-', no leading zeros, fits in Int64).
    static func canonicalInteger(_ bytes: [UInt8]) -> Int64? {
        bytes.withUnsafeBufferPointer { canonicalInteger($0) }
    }

    static func canonicalInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") { negative = true; i = 1; guard bytes.count > 1 else { return nil } }
        if bytes[i] == UInt8(ascii: "0") { return bytes.count == 1 ? 0 : nil }
        var v: Int64 = 0
        while i < bytes.count {
            let d = bytes[i]
            guard d >= 0x30 && d <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d - 0x30)) : m.addingReportingOverflow(Int64(d - 0x30))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return v
    }

    /// One listpack entry: encoding and data, then the back-length.
    static func appendEntry(_ bytes: [UInt8], to lp: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { appendEntry($0, to: &lp) }
    }

    static func appendEntry(_ bytes: UnsafeBufferPointer<UInt8>, to lp: inout [UInt8]) {
        let start = lp.count
        if let v = canonicalInteger(bytes) {
            if v >= 0 && v <= 127 {
                lp.append(UInt8(v))
            } else if v >= -4096 && v <= 4095 {
                let u = UInt16(bitPattern: Int16(v)) & 0x1FFF
                lp.append(0xC0 | UInt8(u >> 8)); lp.append(UInt8(u & 0xFF))
            } else if v >= -32768 && v <= 32767 {
                let u = UInt16(bitPattern: Int16(v))
                lp.append(0xF1); lp.append(UInt8(u & 0xFF)); lp.append(UInt8(u >> 8))
            } else if v >= -8_388_608 && v <= 8_388_607 {
                let u = UInt32(bitPattern: Int32(v))
                lp.append(0xF2); lp.append(UInt8(u & 0xFF)); lp.append(UInt8((u >> 8) & 0xFF)); lp.append(UInt8((u >> 16) & 0xFF))
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                var u = UInt32(bitPattern: Int32(v))
                lp.append(0xF3)
                for _ in 0..<4 { lp.append(UInt8(u & 0xFF)); u >>= 8 }
            } else {
                var u = UInt64(bitPattern: v)
                lp.append(0xF4)
                for _ in 0..<8 { lp.append(UInt8(u & 0xFF)); u >>= 8 }
            }
        } else if bytes.count < 64 {
            lp.append(0x80 | UInt8(bytes.count)); lp += bytes
        } else if bytes.count < 4096 {
            lp.append(0xE0 | UInt8(bytes.count >> 8)); lp.append(UInt8(bytes.count & 0xFF)); lp += bytes
        } else {
            var n = UInt32(bytes.count)
            lp.append(0xF0)
            for _ in 0..<4 { lp.append(UInt8(n & 0xFF)); n >>= 8 }
            lp += bytes
        }
        let l = lp.count - start
        if l <= 127 {
            lp.append(UInt8(l))
        } else if l < 16383 {
            lp.append(UInt8(l >> 7)); lp.append(UInt8(l & 127) | 128)
        } else {
            lp.append(UInt8(l >> 14)); lp.append(UInt8((l >> 7) & 127) | 128); lp.append(UInt8(l & 127) | 128)
        }
    }

    static func appendRDBLength(_ n: Int, to out: inout [UInt8]) {
        if n < 64 {
            out.append(UInt8(n))
        } else if n < 16384 {
            out.append(0x40 | UInt8(n >> 8)); out.append(UInt8(n & 0xFF))
        } else {
            out.append(0x80)
            out.append(UInt8((n >> 24) & 0xFF)); out.append(UInt8((n >> 16) & 0xFF)); out.append(UInt8((n >> 8) & 0xFF)); out.append(UInt8(n & 0xFF))
        }
    }
}
