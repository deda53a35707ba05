import OnlineCFCore

/// An independent, deliberately naive computation of every co-occurrence formula of the
/// docs/algorithms.md, used as the oracle of the correctness tests. It shares no code with the
/// model: plain dictionaries and sets, pairs enumerated directly from each basket.
public enum BruteForce {
    /// A list: neighbour id → score, best first, ties by neighbour id byte-wise.
    public typealias List = [(id: String, score: Double)]

    /// Bounds as in ModelParameters; 0 = unlimited.
    public struct Bounds: Sendable {
        public var itemHistory = 0, userHistory = 0, authorHistory = 0
        public init(itemHistory: Int = 0, userHistory: Int = 0, authorHistory: Int = 0) {
            self.itemHistory = itemHistory; self.userHistory = userHistory; self.authorHistory = authorHistory
        }
    }

    /// Every list of `algorithm`, keyed by the id it belongs to; empty lists omitted.
    public static func lists(events: [Event], algorithm: Algorithm, k: Int, bounds: Bounds = Bounds(),
                             itemAuthors: [String: String] = [:]) -> [String: List] {
        // Baskets: ordered distinct entities, in order of first (basket, entity) arrival.
        var baskets: [String: [String]] = [:]
        var seenPairs = Set<[String]>()
        var firstAuthor: [String: String] = [:]
        var window = 0
        var seenUserItem = Set<[String]>()
        for e in events {
            if let a = e.author, firstAuthor[e.item] == nil { firstAuthor[e.item] = a }
            if firstAuthor[e.item] == nil, let a = itemAuthors[e.item] { firstAuthor[e.item] = a }
            guard seenUserItem.insert([e.user, e.item]).inserted else { continue }
            let basket: String, entity: String
            switch algorithm.kind {
            case .i2i: basket = e.user; entity = e.item; window = bounds.itemHistory
            case .u2u: basket = e.item; entity = e.user; window = bounds.userHistory
            case .a2a:
                guard let a = firstAuthor[e.item] else { continue }
                basket = e.user; entity = a; window = bounds.authorHistory
            }
            if seenPairs.insert([basket, entity]).inserted { baskets[basket, default: []].append(entity) }
        }
        // Count with local integer ids: a dense matrix when small, rows of dictionaries otherwise.
        var ids: [String: Int] = [:]
        var names: [String] = []
        for (_, entities) in baskets { for e in entities where ids[e] == nil { ids[e] = names.count; names.append(e) } }
        let n = names.count
        var degree = [Int](repeating: 0, count: n)
        let dense = n <= 6000
        var matrix = [Int32](repeating: 0, count: dense ? n * n : 0)
        var rows = [[Int: Int]](repeating: [:], count: dense ? 0 : n)
        for (_, entities) in baskets {
            let local = entities.map { ids[$0]! }
            for (p, a) in local.enumerated() {
                degree[a] += 1
                var q = p + 1
                while q < local.count && (window == 0 || q - p <= window) {
                    let b = local[q]
                    if dense { matrix[a * n + b] += 1; matrix[b * n + a] += 1 } else { rows[a][b, default: 0] += 1; rows[b][a, default: 0] += 1 }
                    q += 1
                }
            }
        }
        let nameBytes = names.map { Array($0.utf8) }
        var result: [String: List] = [:]
        for a in 0..<n {
            var list: [(b: Int, score: Double)] = []
            func add(_ b: Int, _ c: Int) {
                let cd = Double(c), da = Double(degree[a]), db = Double(degree[b])
                let score: Double
                switch algorithm.measure! {
                case .cooccurrence: score = cd
                case .cosine: score = cd / (da * db).squareRoot()
                case .jaccard: score = cd / (da + db - cd)
                case .lift: score = cd / (da * db)
                }
                if score > 0 { list.append((b, score)) }
            }
            if dense { for b in 0..<n where matrix[a * n + b] > 0 { add(b, Int(matrix[a * n + b])) } } else { for (b, c) in rows[a] { add(b, c) } }
            list.sort { $0.score != $1.score ? $0.score > $1.score : nameBytes[$0.b].lexicographicallyPrecedes(nameBytes[$1.b]) }
            if !list.isEmpty { result[names[a]] = list.prefix(k).map { (names[$0.b], $0.score) } }
        }
        return result
    }

    /// Compares two lists: same length, scores within `tolerance` (relative), and the
    /// same ids except where neighbouring scores tie within tolerance. Returns a
    /// description of the first difference, or nil.
    public static func difference(expected: List, actual: List, tolerance: Double) -> String? {
        guard expected.count == actual.count else {
            return "length \(actual.count), expected \(expected.count)"
        }
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= tolerance * max(abs(a), abs(b)) }
        for (i, (e, a)) in zip(expected, actual).enumerated() {
            guard close(e.score, a.score) else { return "position \(i): score \(a.score) (\(a.id)), expected \(e.score) (\(e.id))" }
            if e.id != a.id {
                // Allowed only inside a group of scores equal within tolerance.
                let tiedExpected = expected.filter { close($0.score, e.score) }.map(\.id)
                if !tiedExpected.contains(a.id) {
                    return "position \(i): \(a.id), expected \(e.id) (score \(e.score))"
                }
            }
        }
        // At the cut-off, the tie group may be cut differently only if scores tie.
        return nil
    }
}

extension BruteForce {
    /// Exact Swing by the formula, enumerated pair-of-users first: for every pair of kept
    /// users {u, v}, `S = I_u ∩ I_v` (bitsets), and every ordered (i, j) in `S` with both
    /// users in the sampled `L_i` gets `w_u·w_v / (alpha2 + |S|)`. A different order of
    /// work than the implementation (which goes item by item), and no shared code but the
    /// documented sampler.
    public static func swing(events: [Event], parameters p: SwingParameters, k: Int) -> [String: List] {
        var userIndex: [String: Int] = [:], itemIndex: [String: Int] = [:]
        var itemNames: [String] = []
        var userItems: [[Int]] = [], itemUsers: [[Int]] = []
        var seen = Set<[Int]>()
        for e in events {
            let u = userIndex[e.user] ?? { userIndex[e.user] = userItems.count; userItems.append([]); return userItems.count - 1 }()
            let i = itemIndex[e.item] ?? { itemIndex[e.item] = itemNames.count; itemNames.append(e.item); itemUsers.append([]); return itemNames.count - 1 }()
            if seen.insert([u, i]).inserted { userItems[u].append(i); itemUsers[i].append(u) }
        }
        let nItems = itemNames.count, words = (nItems + 63) / 64
        let kept = userItems.map { $0.count >= p.minUserBehavior && $0.count <= p.maxUserBehavior }
        let weight = userItems.map { 1 / pow(p.alpha1 + Double($0.count), p.beta) }
        var bits = [[UInt64]](repeating: [UInt64](repeating: 0, count: words), count: userItems.count)
        for (u, items) in userItems.enumerated() { for i in items { bits[u][i / 64] |= 1 << UInt64(i % 64) } }
        // L_i membership (after sampling) as a set per item.
        var inL = [Set<Int>](repeating: [], count: nItems)
        for i in 0..<nItems {
            let users = itemUsers[i].filter { kept[$0] }.map { UInt32($0) }
            inL[i] = Set(SwingSampler.sample(users, item: itemNames[i], seed: p.seed, limit: p.maxUserNumPerItem).map { Int($0) })
        }
        var score = [Double](repeating: 0, count: nItems * nItems)
        let keptUsers = (0..<userItems.count).filter { kept[$0] }
        var shared: [Int] = []
        for (a, u) in keptUsers.enumerated() {
            for v in keptUsers[(a + 1)...] {
                shared.removeAll(keepingCapacity: true)
                for w in 0..<words {
                    var x = bits[u][w] & bits[v][w]
                    while x != 0 { shared.append(w * 64 + x.trailingZeroBitCount); x &= x - 1 }
                }
                guard shared.count >= 2 else { continue }
                let c = weight[u] * weight[v] / (p.alpha2 + Double(shared.count))
                for i in shared where inL[i].contains(u) && inL[i].contains(v) {
                    for j in shared where j != i { score[i * nItems + j] += c }
                }
            }
        }
        var result: [String: List] = [:]
        let nameBytes = itemNames.map { Array($0.utf8) }
        for i in 0..<nItems {
            var list: [(b: Int, score: Double)] = []
            for j in 0..<nItems where score[i * nItems + j] > 0 { list.append((j, score[i * nItems + j])) }
            list.sort { $0.score != $1.score ? $0.score > $1.score : nameBytes[$0.b].lexicographicallyPrecedes(nameBytes[$1.b]) }
            if !list.isEmpty { result[itemNames[i]] = list.prefix(k).map { (itemNames[$0.b], $0.score) } }
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#endif
