/// A neighbour and its score.
public struct ScoredNeighbor: Sendable, Equatable {
    public var index: UInt32
    public var score: Double
    public init(index: UInt32, score: Double) { self.index = index; self.score = score }
}

/// Selects the `k` best neighbours: highest score first, ties broken by neighbour id in
/// byte-wise (UTF-8) ascending order, so the result is deterministic and independent of
/// the order candidates are offered in. Scores that are not > 0 are never kept.
public struct TopKSelector {
    public let k: Int
    private let names: [String]
    private let sortKeys: [UInt64]
    // Min-heap on "goodness": the root is the worst kept neighbour.
    private var heap: [ScoredNeighbor] = []

    /// `names[index]` is the id of a neighbour index (the tie-breaker); `sortKeys` are
    /// their ``IdInterner/sortKey(_:)``s (computed from `names` when not given).
    public init(k: Int, names: [String], sortKeys: [UInt64]? = nil) {
        precondition(k > 0)
        self.k = k
        self.names = names
        self.sortKeys = sortKeys ?? names.map(IdInterner.sortKey)
        heap.reserveCapacity(k)
    }

    /// Whether `a` ranks before `b`: higher score, then lower id (sort keys first, the
    /// full ids only when those are equal). Buffers, so comparing retains nothing.
    @inline(__always)
    private static func better(_ a: ScoredNeighbor, _ b: ScoredNeighbor,
                               _ keys: UnsafeBufferPointer<UInt64>, _ names: UnsafeBufferPointer<String>) -> Bool {
        if a.score != b.score { return a.score > b.score }
        let ka = keys[Int(a.index)], kb = keys[Int(b.index)]
        if ka != kb { return ka < kb }
        return names[Int(a.index)].utf8Precedes(names[Int(b.index)])
    }

    /// The worst kept score once `k` neighbours are kept (a candidate must reach it), else 0.
    @inline(__always)
    public var threshold: Double { heap.count == k ? heap[0].score : 0 }

    @inline(__always)
    public mutating func offer(_ index: UInt32, score: Double) {
        guard score > 0 else { return }
        let c = ScoredNeighbor(index: index, score: score)
        if heap.count < k {
            heap.append(c)
            siftUp(heap.count - 1)
        } else {
            // A lower score than the worst kept one never enters (the common case); an
            // equal one only if its id ranks first.
            let worst = heap[0]
            if score < worst.score { return }
            if score == worst.score && !sortKeys.withUnsafeBufferPointer({ keys in
                names.withUnsafeBufferPointer { Self.better(c, worst, keys, $0) }
            }) { return }
            heap[0] = c
            siftDown(0)
        }
    }

    /// The kept neighbours, best first; the selector is empty afterwards.
    public mutating func take() -> [ScoredNeighbor] {
        var out = heap
        heap.removeAll(keepingCapacity: true)
        sortKeys.withUnsafeBufferPointer { keys in
            names.withUnsafeBufferPointer { names in out.sort { Self.better($0, $1, keys, names) } }
        }
        return out
    }

    private mutating func siftUp(_ start: Int) {
        sortKeys.withUnsafeBufferPointer { keys in
            names.withUnsafeBufferPointer { names in
                heap.withUnsafeMutableBufferPointer { heap in
                    var i = start
                    while i > 0 {
                        let p = (i - 1) / 2
                        if Self.better(heap[p], heap[i], keys, names) { heap.swapAt(p, i); i = p } else { return }
                    }
                }
            }
        }
    }

    private mutating func siftDown(_ start: Int) {
        sortKeys.withUnsafeBufferPointer { keys in
            names.withUnsafeBufferPointer { names in
                heap.withUnsafeMutableBufferPointer { heap in
                    var i = start
                    let n = heap.count
                    while true {
                        let l = 2 * i + 1, r = l + 1
                        var worst = i
                        if l < n && Self.better(heap[worst], heap[l], keys, names) { worst = l }
                        if r < n && Self.better(heap[worst], heap[r], keys, names) { worst = r }
                        if worst == i { return }
                        heap.swapAt(i, worst)
                        i = worst
                    }
                }
            }
        }
    }
}
