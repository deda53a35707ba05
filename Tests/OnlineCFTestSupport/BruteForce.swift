import OnlineCFCore

/// An independent, deliberately naive computation of every co-occurrence formula of the
/// README, used as the oracle of the correctness tests. It shares no code with the
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
                switch algorithm.measure {
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
