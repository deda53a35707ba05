import Testing
@testable import OnlineCFCore

/// ``PairSet`` and ``PairMap`` against `Set` and `Dictionary` under random inserts and
/// removals (deletion must keep every probe run intact, growing and shrinking must keep
/// every key), and through a snapshot round trip.
struct PairTableTests {
    /// Keys from a small range so that inserts, overwrites and removals collide often;
    /// the high and low halves both vary, and the extreme pairs are included.
    private static func key(_ x: UInt64) -> UInt64 {
        let r = x % 5000
        switch r {
        case 0: return 0
        case 1: return UInt64(UInt32.max) << 32
        default: return (r % 97) << 32 | (r / 97)
        }
    }

    @Test func pairSetMatchesSet() {
        var set = PairSet()
        var reference = Set<UInt64>()
        var x: UInt64 = 42
        for step in 0..<200_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let key = Self.key(x >> 20)
            // Three phases: mostly inserts, balanced, then mostly removals (shrinking).
            let removeBelow: UInt64 = step < 80_000 ? 3 : step < 140_000 ? 5 : 9
            if (x >> 4) % 10 < removeBelow {
                #expect(set.remove(key) == (reference.remove(key) != nil))
            } else {
                #expect(set.insert(key) == reference.insert(key).inserted)
            }
            if step % 20_000 == 0 {
                #expect(set.count == reference.count)
            }
        }
        #expect(set.count == reference.count)
        var seen = Set<UInt64>()
        set.forEach { seen.insert($0) }
        #expect(seen == reference)
        for r in 0..<5000 as Range<UInt64> { #expect(set.contains(Self.key(r)) == reference.contains(Self.key(r))) }
        for key in reference { set.remove(key) }
        #expect(set.count == 0)
        #expect(!set.contains(0))
        set.insert(7)
        #expect(set.contains(7) && set.count == 1)
    }

    @Test func pairMapMatchesDictionary() {
        var map = PairMap<UInt64>()
        var reference: [UInt64: UInt64] = [:]
        var x: UInt64 = 7
        for step in 0..<200_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let key = Self.key(x >> 20)
            let removeBelow: UInt64 = step < 80_000 ? 3 : step < 140_000 ? 5 : 9
            if (x >> 4) % 10 < removeBelow {
                #expect(map.removeValue(forKey: key) == reference.removeValue(forKey: key))
            } else {
                map[key] = x
                reference[key] = x
            }
        }
        #expect(map.count == reference.count)
        var seen: [UInt64: UInt64] = [:]
        map.forEach { seen[$0] = $1 }
        #expect(seen == reference)
        for r in 0..<5000 as Range<UInt64> { #expect(map[Self.key(r)] == reference[Self.key(r)]) }
    }

    @Test func tablesSurviveASnapshot() throws {
        var set = PairSet(), map = PairMap<Int64>()
        for n in 0..<10_000 as Range<UInt64> {
            set.insert(n &* 2_654_435_761 % 100_003)
            map[n << 32 | (n % 17)] = Int64(n) - 5000
        }
        for n in stride(from: 0, to: 10_000 as UInt64, by: 3) {
            set.remove(n &* 2_654_435_761 % 100_003)
            map[n << 32 | (n % 17)] = nil
        }
        var e = SnapshotEncoder()
        e.write(part: set); e.write(part: map); e.write(part: PairSet())
        var d = SnapshotDecoder(bytes: e.bytes)
        var set2: PairSet = try d.readPart()
        var map2: PairMap<Int64> = try d.readPart()
        let empty: PairSet = try d.readPart()
        #expect(d.isAtEnd && empty.count == 0 && !empty.contains(0))
        #expect(set2.count == set.count && map2.count == map.count)
        var a = Set<UInt64>(), b = Set<UInt64>()
        set.forEach { a.insert($0) }; set2.forEach { b.insert($0) }
        #expect(a == b)
        for n in 0..<10_000 as Range<UInt64> { #expect(map2[n << 32 | (n % 17)] == map[n << 32 | (n % 17)]) }
        // The restored tables go on as the originals do.
        for n in 0..<3_000 as Range<UInt64> {
            #expect(set2.insert(n) == set.insert(n))
            map2[n] = 1; map[n] = 1
            #expect(map2.removeValue(forKey: n << 32 | (n % 17)) == map.removeValue(forKey: n << 32 | (n % 17)))
        }
        #expect(set2.count == set.count && map2.count == map.count)
    }
}
