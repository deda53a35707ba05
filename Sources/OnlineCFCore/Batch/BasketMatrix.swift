/// Baskets and the entities they hold, in compressed sparse row form both ways: the
/// input of the batch co-occurrence product (``SparseCooccurrence``).
///
/// Built once from the new (basket, entity) pairs in the order they arrived:
/// - each basket's entities are in arrival order (positions, which bounded windows
///   count, are exactly the stream's);
/// - each entity's occurrences are in basket order, so every sum over them is taken in
///   one fixed order, whatever the number of threads that later read the matrix.
///
/// Values are the pairs' weights (forward-decayed where decay is on); a binary matrix
/// stores none and every pair counts 1.
public struct BasketMatrix: Sendable {
    public let basketCount: Int
    public let entityCount: Int
    /// Basket `b` holds `entities[basketStart[b] ..< basketStart[b + 1]]`.
    let basketStart: [Int]
    let entities: [UInt32]
    /// `values[s]` is the value of slot `s` of `entities`; empty when binary.
    let values: [Double]
    /// Entity `e` occurs at slots `occurrences[entityStart[e] ..< entityStart[e + 1]]`.
    let entityStart: [Int]
    let occurrences: [UInt32]
    /// The basket of each slot.
    let slotBasket: [UInt32]

    public var isBinary: Bool { values.isEmpty }
    public var pairCount: Int { entities.count }

    /// - Parameters:
    ///   - pairs: the new (basket, entity) pairs in arrival order, each at most once.
    ///   - values: one value per pair (nil: binary).
    public init(pairs: PairSequence, values: [Double]? = nil, basketCount: Int, entityCount: Int) {
        precondition(values == nil || values!.count == pairs.count)
        self.basketCount = basketCount
        self.entityCount = entityCount
        let n = pairs.count
        // Stable counting sort by basket: slots in basket order, arrival order within one.
        var start = [Int](repeating: 0, count: basketCount + 1)
        for p in 0..<n { start[Int(pairs.basket(p)) + 1] += 1 }
        for b in 0..<basketCount { start[b + 1] += start[b] }
        var next = Array(start.dropLast())
        var entities = [UInt32](repeating: 0, count: n)
        var slotBasket = [UInt32](repeating: 0, count: n)
        var sorted = [Double](repeating: 0, count: values == nil ? 0 : n)
        for p in 0..<n {
            let b = Int(pairs.basket(p))
            let s = next[b]
            next[b] += 1
            entities[s] = pairs.entity(p)
            slotBasket[s] = UInt32(b)
            if let values { sorted[s] = values[p] }
        }
        // Then by entity over the slots in basket order.
        var eStart = [Int](repeating: 0, count: entityCount + 1)
        for e in entities { eStart[Int(e) + 1] += 1 }
        for e in 0..<entityCount { eStart[e + 1] += eStart[e] }
        var eNext = Array(eStart.dropLast())
        var occurrences = [UInt32](repeating: 0, count: n)
        for s in 0..<n {
            let e = Int(entities[s])
            occurrences[eNext[e]] = UInt32(s)
            eNext[e] += 1
        }
        self.basketStart = start
        self.entities = entities
        self.values = sorted
        self.entityStart = eStart
        self.occurrences = occurrences
        self.slotBasket = slotBasket
    }

    /// The matrix's arrays as raw buffers, for inner loops that must not retain them.
    struct View {
        let basketStart: UnsafeBufferPointer<Int>
        let entities: UnsafeBufferPointer<UInt32>
        let values: UnsafeBufferPointer<Double>
        let entityStart: UnsafeBufferPointer<Int>
        let occurrences: UnsafeBufferPointer<UInt32>
        let slotBasket: UnsafeBufferPointer<UInt32>
    }

    /// Calls `body` with a ``View`` valid for the call's duration.
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try basketStart.withUnsafeBufferPointer { bs in
            try entities.withUnsafeBufferPointer { en in
                try values.withUnsafeBufferPointer { va in
                    try entityStart.withUnsafeBufferPointer { es in
                        try occurrences.withUnsafeBufferPointer { oc in
                            try slotBasket.withUnsafeBufferPointer { sb in
                                try body(View(basketStart: bs, entities: en, values: va, entityStart: es, occurrences: oc, slotBasket: sb))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Each entity's degree: the number of baskets holding it (binary), or the sum of its
    /// values over them in basket order.
    public func degrees() -> [Double] {
        var out = [Double](repeating: 0, count: entityCount)
        for e in 0..<entityCount {
            if isBinary {
                out[e] = Double(entityStart[e + 1] - entityStart[e])
            } else {
                var sum = 0.0
                for o in entityStart[e]..<entityStart[e + 1] { sum += values[Int(occurrences[o])] }
                out[e] = sum
            }
        }
        return out
    }
}

/// (basket, entity) pairs in arrival order, packed in one array.
public struct PairSequence: Sendable {
    private var packed: [UInt64] = []

    public init() {}

    public var count: Int { packed.count }

    public mutating func append(basket: UInt32, entity: UInt32) {
        packed.append(UInt64(basket) << 32 | UInt64(entity))
    }

    @inline(__always) public func basket(_ p: Int) -> UInt32 { UInt32(truncatingIfNeeded: packed[p] >> 32) }
    @inline(__always) public func entity(_ p: Int) -> UInt32 { UInt32(truncatingIfNeeded: packed[p]) }

    /// The same pairs with basket and entity swapped (u2u's baskets are ItemCF's entities).
    public func transposed() -> PairSequence {
        var t = PairSequence()
        t.packed = packed.map { $0 << 32 | $0 >> 32 }
        return t
    }

    /// Each pair, in arrival order.
    public func forEach(_ body: (UInt32, UInt32) throws -> Void) rethrows {
        for p in packed { try body(UInt32(truncatingIfNeeded: p >> 32), UInt32(truncatingIfNeeded: p)) }
    }
}
