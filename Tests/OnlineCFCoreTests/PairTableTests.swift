import Testing
@testable import OnlineCFCore

/// ``PairSet`` against `Set` under random inserts and removals (deletion must keep every
/// probe run intact, growing and shrinking must keep every key), and through a snapshot
/// round trip.
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

    @Test func aSetSurvivesASnapshot() throws {
        var set = PairSet()
        for n in 0..<10_000 as Range<UInt64> { set.insert(n &* 2_654_435_761 % 100_003) }
        for n in stride(from: 0, to: 10_000 as UInt64, by: 3) { set.remove(n &* 2_654_435_761 % 100_003) }
        var e = SnapshotEncoder()
        e.write(part: set); e.write(part: PairSet())
        var d = SnapshotDecoder(bytes: e.bytes)
        var set2: PairSet = try d.readPart()
        let empty: PairSet = try d.readPart()
        #expect(d.isAtEnd && empty.count == 0 && !empty.contains(0))
        #expect(set2.count == set.count)
        var a = Set<UInt64>(), b = Set<UInt64>()
        set.forEach { a.insert($0) }; set2.forEach { b.insert($0) }
        #expect(a == b)
        // The restored set goes on as the original does.
        for n in 0..<3_000 as Range<UInt64> {
            #expect(set2.insert(n) == set.insert(n))
            #expect(set2.remove(n &* 7) == set.remove(n &* 7))
        }
        #expect(set2.count == set.count)
    }
}
