import Dispatch

/// Exact batch Swing (the formula of ``SwingParameters``) over whole interaction sets.
///
/// For each item `i`, with `L_i` its kept, sampled users, the pairs of `L_i` are never
/// enumerated with their intersections directly. Instead every item `j` held by users of
/// `L_i` gets a bucket of those users; pass 1 counts `|I_u ∩ I_v|` for every pair by
/// walking the buckets, pass 2 sums `w_u·w_v / (alpha2 + |I_u ∩ I_v|)` over the pairs of
/// each bucket `j ≠ i`. The work per item is `Σ_j |bucket_j|²`, the number of (pair,
/// shared item) triples, with no allocation per pair. Items are spread over threads;
/// each item's row is computed by one thread in a fixed order, so results do not depend
/// on the number of threads.
public enum SwingScorer {
    /// A row of scores: neighbour → score, every score > 0, in increasing neighbour order.
    public typealias Row = [(neighbour: UInt32, score: Double)]

    /// Computes the full score row of every item.
    /// - Parameters:
    ///   - userItems: each user's distinct items.
    ///   - itemUsers: each item's users in the order they first interacted with it.
    ///   - itemNames: item ids (seed the sampling).
    public static func rows(userItems: [[UInt32]], itemUsers: [[UInt32]], itemNames: [String],
                            parameters: SwingParameters, threads: Int = 2) -> [Row] {
        rows(of: (0..<itemUsers.count).map(UInt32.init), userItems: userItems, itemUsers: itemUsers, itemNames: itemNames,
             parameters: parameters, threads: threads)
    }

    /// Computes the full score rows of `items` only, in their order: each row is exactly
    /// the one ``rows(userItems:itemUsers:itemNames:parameters:threads:)`` gives it.
    public static func rows(of items: [UInt32], userItems: [[UInt32]], itemUsers: [[UInt32]], itemNames: [String],
                            parameters: SwingParameters, threads: Int = 2) -> [Row] {
        guard !items.isEmpty else { return [] }
        let itemCount = itemUsers.count
        let kept = userItems.map { parameters.isKept(itemCount: $0.count) }
        let weights = userItems.map { parameters.weight(itemCount: $0.count) }
        let results = ParallelSlots<Row>(count: items.count, initial: [])
        let workers = max(1, min(threads, items.count))
        // `inverse[c] = 1 / (alpha2 + c)`, shared by the threads.
        let inverse = (0...Int(UInt16.max)).map { 1 / (parameters.alpha2 + Double($0)) }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var scratch = Scratch(itemCount: itemCount, maxUsers: parameters.maxUserNumPerItem)
            scratch.inverse = inverse
            var p = worker
            while p < items.count {
                let i = Int(items[p])
                let users = itemUsers[i].filter { kept[Int($0)] }
                let sampled = SwingSampler.sample(users, item: itemNames[i], seed: parameters.seed, limit: parameters.maxUserNumPerItem)
                results.set(p, scratch.row(item: UInt32(i), users: sampled, userItems: userItems, weights: weights, alpha2: parameters.alpha2))
                p += workers
            }
        }
        return results.take()
    }

    /// Reusable per-thread buffers.
    struct Scratch {
        var bucketCount: [Int32]
        var bucketStart: [Int32]
        var touched: [UInt32] = []
        var entries: [UInt32] = []
        var pairCount: [UInt16] = []
        var localWeights: [Double] = []
        /// `inverse[c] = 1 / (alpha2 + c)`, so the inner loop multiplies instead of dividing.
        var inverse: [Double] = []

        init(itemCount: Int, maxUsers: Int) {
            bucketCount = [Int32](repeating: 0, count: itemCount)
            bucketStart = [Int32](repeating: 0, count: itemCount)
        }

        mutating func row(item i: UInt32, users: [UInt32], userItems: [[UInt32]], weights: [Double], alpha2: Double) -> Row {
            let n = users.count
            guard n >= 2 else { return [] }
            if pairCount.count < n * n { pairCount = [UInt16](repeating: 0, count: n * n) }
            if inverse.isEmpty { inverse = (0...Int(UInt16.max)).map { 1 / (alpha2 + Double($0)) } }
            localWeights = users.map { weights[Int($0)] }
            touched.removeAll(keepingCapacity: true)
            var total = 0
            for u in users {
                for j in userItems[Int(u)] {
                    if bucketCount[Int(j)] == 0 { touched.append(j) }
                    bucketCount[Int(j)] += 1
                }
                total += userItems[Int(u)].count
            }
            var offset: Int32 = 0
            var pairWalk = 0
            for j in touched {
                let c = Int(bucketCount[Int(j)])
                pairWalk += c * (c - 1) / 2
                bucketStart[Int(j)] = offset
                offset += bucketCount[Int(j)]
                bucketCount[Int(j)] = 0
            }
            if entries.count < total { entries = [UInt32](repeating: 0, count: total) }
            for (a, u) in users.enumerated() {
                for j in userItems[Int(u)] {
                    entries[Int(bucketStart[Int(j)] + bucketCount[Int(j)])] = UInt32(a)
                    bucketCount[Int(j)] += 1
                }
            }
            touched.sort()
            var row: Row = []
            entries.withUnsafeBufferPointer { e in
                pairCount.withUnsafeMutableBufferPointer { pc in
                    localWeights.withUnsafeBufferPointer { w in
                    inverse.withUnsafeBufferPointer { inv in
                        // Pass 1: |I_u ∩ I_v| for every pair sharing an item.
                        for j in touched {
                            let start = Int(bucketStart[Int(j)]), count = Int(bucketCount[Int(j)])
                            if count < 2 { continue }
                            for x in start..<(start + count - 1) {
                                let base = Int(e[x]) * n
                                for y in (x + 1)..<(start + count) { pc[base + Int(e[y])] &+= 1 }
                            }
                        }
                        // Pass 2: score(i, j) for every other item j.
                        for j in touched where j != i {
                            let start = Int(bucketStart[Int(j)]), count = Int(bucketCount[Int(j)])
                            if count < 2 { continue }
                            var score = 0.0
                            for x in start..<(start + count - 1) {
                                let a = Int(e[x]), base = a * n
                                let wa = w[a]
                                for y in (x + 1)..<(start + count) {
                                    let b = Int(e[y])
                                    score += wa * w[b] * inv[Int(pc[base + b])]
                                }
                            }
                            if score > 0 { row.append((j, score)) }
                        }
                        // Reset the pair counts: wipe the n×n block when that is cheaper
                        // than walking the pairs again.
                        if pairWalk > n * n / 4 {
                            pc.baseAddress!.update(repeating: 0, count: n * n)
                            return
                        }
                        for j in touched {
                            let start = Int(bucketStart[Int(j)]), count = Int(bucketCount[Int(j)])
                            if count < 2 { continue }
                            for x in start..<(start + count - 1) {
                                let base = Int(e[x]) * n
                                for y in (x + 1)..<(start + count) { pc[base + Int(e[y])] = 0 }
                            }
                        }
                    }
                    }
                }
            }
            for j in touched { bucketCount[Int(j)] = 0 }
            return row
        }
    }
}
