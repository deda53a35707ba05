import Dispatch
import Synchronization

/// Batch co-occurrence lists as a sparse product, the way SAR and implicit compute them:
/// for each entity `a`, walk its baskets and add each co-occurring entity's contribution
/// into a dense per-thread accumulator, then score the touched entries and keep the top k.
///
/// It computes exactly what ``CooccurrenceCounter`` (binary) and
/// ``WeightedCooccurrenceCounter`` (values) maintain incrementally, for the whole matrix at
/// once and without holding any co-occurrence row:
/// - `C(a, o) = Σ_b 1` (binary) or `Σ_b min(v(b, a), v(b, o))` over the baskets `b` in
///   which `a` and `o` sit fewer than `window + 1` positions apart (any distance when
///   `window == 0`);
/// - the score of `o` in `a`'s list is the measure's expression of `C(a, o)·f`,
///   `d_a·f` and `d_o·f` (``SimilarityMeasure/weightedScore(count:degreeA:degreeB:)``),
///   with `f` the caller's common factor (decay to the current time, or 1).
///
/// Binary counts are sums of ones, so they and their scores are bit for bit the
/// incremental counter's. Weighted sums are taken in basket order: the same value for
/// every thread count, within rounding (1e-12 relative) of the incremental sums.
/// Entities are spread over `threads` threads; each list is computed by one thread, so
/// the result does not depend on the thread count.
public struct SparseCooccurrence: Sendable {
    public let matrix: BasketMatrix
    public let window: Int
    /// Each entity's degree (see ``BasketMatrix/degrees()``).
    public let degrees: [Double]

    public init(matrix: BasketMatrix, window: Int) {
        precondition(window >= 0)
        self.matrix = matrix
        self.window = window
        self.degrees = matrix.degrees()
    }

    /// One list request: a measure, the factor `f` its scores take, and where its lists go.
    public struct Request: Sendable {
        public var measure: SimilarityMeasure
        public var factor: Double
        public init(measure: SimilarityMeasure, factor: Double = 1) {
            self.measure = measure
            self.factor = factor
        }
    }

    /// The top-k list of every entity under each request, best first with ties by
    /// neighbour id (``TopKSelector``). `excluded[e]` (when `e` is in range) leaves `e`
    /// out of every list and empties its own.
    public func lists(_ requests: [Request], k: Int, names: [String], sortKeys: [UInt64],
                      excluded: [Bool] = [], threads: Int) -> [[[ScoredNeighbor]]] {
        let n = matrix.entityCount
        let results = (0..<requests.count).map { _ in ParallelSlots<[ScoredNeighbor]>(count: n, initial: []) }
        let workers = max(1, min(threads, n))
        // Entities are handed out in blocks from a shared counter: rows differ in cost by
        // orders of magnitude, so a fixed split would leave a thread idle.
        let next = Atomic<Int>(0)
        let block = 64
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var scratch = Accumulator(entityCount: n)
            var selectors = requests.map { _ in TopKSelector(k: k, names: names, sortKeys: sortKeys) }
            degrees.withUnsafeBufferPointer { degrees in
                matrix.withView { view in
                    while true {
                        let first = next.add(block, ordering: .relaxed).oldValue
                        if first >= n { break }
                        for e in first..<min(n, first + block) where !(e < excluded.count && excluded[e]) {
                            scratch.accumulate(entity: UInt32(e), matrix: view, window: window)
                            for (r, request) in requests.enumerated() {
                                results[r].set(e, scratch.select(entity: e, request: request, degrees: degrees, excluded: excluded, into: &selectors[r]))
                            }
                            scratch.reset()
                        }
                    }
                }
            }
        }
        return results.map { $0.take() }
    }

    /// A thread's dense accumulator over all entities, with the entries touched. Raw
    /// buffers: the inner loop neither retains nor checks uniqueness.
    struct Accumulator: ~Copyable {
        let sums: UnsafeMutableBufferPointer<Double>
        let touched: UnsafeMutableBufferPointer<UInt32>
        var touchedCount = 0

        init(entityCount: Int) {
            sums = .allocate(capacity: max(1, entityCount))
            sums.initialize(repeating: 0)
            touched = .allocate(capacity: entityCount + 1)
        }

        deinit {
            sums.deallocate()
            touched.deallocate()
        }

        /// Adds every co-occurrence of `a` into `sums`, noting each entity touched once.
        mutating func accumulate(entity a: UInt32, matrix m: BasketMatrix.View, window: Int) {
            let ea = Int(a)
            var n = touchedCount
            for o in m.entityStart[ea]..<m.entityStart[ea + 1] {
                let slot = Int(m.occurrences[o])
                let b = Int(m.slotBasket[slot])
                var lo = m.basketStart[b], hi = m.basketStart[b + 1]
                if window > 0 { lo = max(lo, slot - window); hi = min(hi, slot + window + 1) }
                if m.values.isEmpty {
                    // Branch-free: the entry is always written to `touched`, which keeps it
                    // only when it was untouched (a branch here mispredicts too often).
                    for q in lo..<slot {
                        let other = Int(m.entities[q])
                        let was = sums[other]
                        touched[n] = UInt32(truncatingIfNeeded: other)
                        n &+= was == 0 ? 1 : 0
                        sums[other] = was + 1
                    }
                    for q in (slot + 1)..<hi {
                        let other = Int(m.entities[q])
                        let was = sums[other]
                        touched[n] = UInt32(truncatingIfNeeded: other)
                        n &+= was == 0 ? 1 : 0
                        sums[other] = was + 1
                    }
                } else {
                    let va = m.values[slot]
                    for q in lo..<hi where q != slot {
                        let other = Int(m.entities[q])
                        let add = min(va, m.values[q])
                        // Entries that stay 0 score 0 and are never listed, so only a
                        // positive contribution needs noting.
                        if add > 0 {
                            if sums[other] == 0 { touched[n] = UInt32(other); n += 1 }
                            sums[other] += add
                        }
                    }
                }
            }
            touchedCount = n
        }

        /// The top-k of the touched entries under `request`.
        func select(entity a: Int, request: Request, degrees: UnsafeBufferPointer<Double>, excluded: [Bool],
                    into selector: inout TopKSelector) -> [ScoredNeighbor] {
            let f = request.factor, measure = request.measure
            let da = degrees[a] * f
            for t in 0..<touchedCount {
                let other = touched[t], o = Int(other)
                if o < excluded.count && excluded[o] { continue }
                let c = sums[o] * f, db = degrees[o] * f
                // Most candidates of a long row cannot enter a full top k: reject them
                // without the division (the score itself is computed as always).
                let bound = selector.threshold
                if bound > 0 && measure.scoreIsCertainlyBelow(bound, count: c, degreeA: da, degreeB: db) { continue }
                selector.offer(other, score: measure.weightedScore(count: c, degreeA: da, degreeB: db))
            }
            return selector.take()
        }

        mutating func reset() {
            for t in 0..<touchedCount { sums[Int(touched[t])] = 0 }
            touchedCount = 0
        }
    }
}
