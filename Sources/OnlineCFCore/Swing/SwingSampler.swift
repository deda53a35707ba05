/// Chooses an item's users `L_i` for Swing when it has more than `maxUserNumPerItem`.
///
/// Reservoir sampling (Vitter's Algorithm R) over the item's users in the order they first
/// interacted with it, driven by SplitMix64 seeded with `seed` mixed with the FNV-1a hash
/// of the item id: the sample depends only on the item, its users' order and the seed,
/// never on which thread or in which order items are processed. The result keeps the
/// users' original order.
public enum SwingSampler {
    public static func sample(_ users: [UInt32], item: String, seed: UInt64, limit: Int) -> [UInt32] {
        guard users.count > limit else { return users }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in item.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var rng = SplitMix64(seed: seed ^ h)
        var reservoir = Array(0..<limit)
        for n in limit..<users.count {
            let r = Int(rng.next() % UInt64(n + 1))
            if r < limit { reservoir[r] = n }
        }
        reservoir.sort()
        return reservoir.map { users[$0] }
    }
}
