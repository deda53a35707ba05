import Foundation

/// Microsoft Recommenders' SAR on a ratings file, computed directly: the independent
/// reference for u2i2i recall.
///
/// Affinity `A[u][i] = Σ rating · 2^(−(T − t)/halfLife)` over u's rows on i (T = the
/// largest timestamp), item similarity `S = jaccard(C)` with `C[i][j]` = users holding
/// both, scores `A·S`, seen items (A > 0) removed, top-k by score then item id.
public struct SARReference {
    public let users: [String]
    public let items: [String]
    /// `affinity[u]`: item index → weight.
    public let affinity: [[Int: Double]]
    private let similarity: [Double]

    /// Reads `user TAB item TAB rating TAB timestamp` lines (a header line is skipped).
    public init(path: String, halfLifeSeconds: Double) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var userIndex: [String: Int] = [:], itemIndex: [String: Int] = [:]
        var users: [String] = [], items: [String] = []
        var rows: [(Int, Int, Double, Double)] = []
        for (n, line) in text.split(separator: "\n").enumerated() where n > 0 {
            let f = line.split(separator: "\t")
            guard f.count >= 4, let rating = Double(f[2]), let t = Double(f[3]) else { continue }
            let u = userIndex[String(f[0])] ?? { users.append(String(f[0])); userIndex[String(f[0])] = users.count - 1; return users.count - 1 }()
            let i = itemIndex[String(f[1])] ?? { items.append(String(f[1])); itemIndex[String(f[1])] = items.count - 1; return items.count - 1 }()
            rows.append((u, i, rating, t))
        }
        let T = rows.map(\.3).max() ?? 0
        var affinity = [[Int: Double]](repeating: [:], count: users.count)
        for (u, i, r, t) in rows { affinity[u][i, default: 0] += r * pow(2, -(T - t) / halfLifeSeconds) }
        let m = items.count
        var count = [Int32](repeating: 0, count: m * m)
        count.withUnsafeMutableBufferPointer { c in
            for a in affinity {
                let held = Array(a.keys)
                for x in held { for y in held { c[x * m + y] += 1 } }
            }
        }
        var similarity = [Double](repeating: 0, count: m * m)
        for x in 0..<m {
            let nx = Double(count[x * m + x])
            for y in 0..<m where count[x * m + y] > 0 {
                let c = Double(count[x * m + y])
                similarity[x * m + y] = c / (nx + Double(count[y * m + y]) - c)
            }
        }
        self.users = users; self.items = items; self.affinity = affinity; self.similarity = similarity
    }

    /// Every unseen item's score for user index `u`.
    public func scores(user u: Int) -> [String: Double] {
        let m = items.count
        var acc = [Double](repeating: 0, count: m)
        acc.withUnsafeMutableBufferPointer { acc in
            similarity.withUnsafeBufferPointer { s in
                for (i, w) in affinity[u] {
                    let row = i * m
                    for j in 0..<m { acc[j] += w * s[row + j] }
                }
            }
        }
        var out: [String: Double] = [:]
        for j in 0..<m where acc[j] > 0 && affinity[u][j] == nil { out[items[j]] = acc[j] }
        return out
    }

    /// The top `k` of ``scores(user:)``: score descending, ties by item id byte-wise.
    public static func top(_ scores: [String: Double], _ k: Int) -> [(String, Double)] {
        Array(scores.sorted { $0.value != $1.value ? $0.value > $1.value : Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.prefix(k)).map { ($0.key, $0.value) }
    }
}
