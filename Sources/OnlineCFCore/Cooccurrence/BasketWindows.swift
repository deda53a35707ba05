/// Every basket's entities in arrival order (a co-occurrence counter's windows), packed.
///
/// A basket's entities live in a block of a power-of-two capacity inside segments of a
/// shared pool; a full block moves to one twice its size, and freed blocks are reused by
/// size. A basket costs 9 bytes of bookkeeping plus its block, against an array's 32-byte
/// header and allocation of its own: the windows are state every worker of a shared job
/// keeps, for every user and item.
///
/// Guarantees: the entities of a basket read back in the order they were appended, less
/// those removed, exactly as with an array per basket; the snapshot form is that of
/// ``SnapshotEncoder/write(arrays:)``.
struct BasketWindows: Sendable {
    /// Entries per shared segment; a larger block gets a segment of its own.
    private static let segmentSize = 1 << 16
    private static let noBlock: UInt8 = .max
    private var segments: [[UInt32]] = []
    /// Room left in the last shared segment (its index, and the next free entry).
    private var open: (segment: Int, next: Int)?
    /// Per basket: where its block is (segment << 32 | offset), its count and its size class
    /// (capacity `1 << class`; ``noBlock`` for none).
    private var locations: [UInt64] = []
    private var counts: [UInt32] = []
    private var classes: [UInt8] = []
    /// Freed blocks by size class.
    private var free: [[UInt64]] = []

    init() {}

    /// Baskets with an index (empty or not).
    var count: Int { counts.count }

    /// Adds empty baskets up to index `b`.
    mutating func ensure(_ b: Int) {
        guard b >= counts.count else { return }
        let n = b + 1 - counts.count
        locations.append(contentsOf: repeatElement(0, count: n))
        counts.append(contentsOf: repeatElement(0, count: n))
        classes.append(contentsOf: repeatElement(Self.noBlock, count: n))
    }

    @inline(__always)
    func count(of b: Int) -> Int { b < counts.count ? Int(counts[b]) : 0 }

    @inline(__always)
    subscript(b: Int, q: Int) -> UInt32 {
        get {
            let at = locations[b]
            return segments[Int(at >> 32)][Int(at & 0xFFFF_FFFF) + q]
        }
        set {
            let at = locations[b]
            segments[Int(at >> 32)][Int(at & 0xFFFF_FFFF) + q] = newValue
        }
    }

    /// Whether basket `b` holds `e`: eight entities compared at a time (the windows answer
    /// most dedupe questions, so this scan runs for nearly every event).
    func contains(_ e: UInt32, in b: Int) -> Bool {
        let n = count(of: b)
        guard n > 0 else { return false }
        let at = locations[b], start = Int(at & 0xFFFF_FFFF)
        return segments[Int(at >> 32)].withUnsafeBufferPointer { s in
            let base = s.baseAddress! + start
            let needle = SIMD8<UInt32>(repeating: e)
            var q = 0
            while q + 8 <= n {
                if any(UnsafeRawPointer(base + q).loadUnaligned(as: SIMD8<UInt32>.self) .== needle) { return true }
                q += 8
            }
            while q < n {
                if base[q] == e { return true }
                q += 1
            }
            return false
        }
    }

    func lastIndex(of e: UInt32, in b: Int) -> Int? {
        let n = count(of: b)
        guard n > 0 else { return nil }
        let at = locations[b], start = Int(at & 0xFFFF_FFFF)
        return segments[Int(at >> 32)].withUnsafeBufferPointer { s in
            var q = n - 1
            while q >= 0 {
                if s[start + q] == e { return q }
                q -= 1
            }
            return nil
        }
    }

    /// A copy of the first `n` entities of basket `b`.
    func prefix(_ n: Int, of b: Int) -> [UInt32] { (0..<min(n, count(of: b))).map { self[b, $0] } }

    /// A copy of basket `b`'s entities.
    func members(of b: Int) -> [UInt32] { prefix(count(of: b), of: b) }

    mutating func append(_ e: UInt32, to b: Int) {
        ensure(b)
        let n = Int(counts[b])
        if classes[b] == Self.noBlock || n == 1 << Int(classes[b]) { moveToBlock(b, sizeClass: classes[b] == Self.noBlock ? 2 : classes[b] + 1) }
        self[b, n] = e
        counts[b] += 1
    }

    /// Removes the first `k` entities of basket `b`, keeping the order of the rest.
    mutating func removeFirst(_ k: Int, of b: Int) {
        let n = count(of: b)
        guard k > 0, n > 0 else { return }
        let at = locations[b], start = Int(at & 0xFFFF_FFFF)
        segments[Int(at >> 32)].withUnsafeMutableBufferPointer { s in
            for q in 0..<(n - k) { s[start + q] = s[start + q + k] }
        }
        counts[b] = UInt32(n - k)
    }

    mutating func removeLast(of b: Int) { if count(of: b) > 0 { counts[b] -= 1 } }

    /// Makes basket `b` hold `entities` (none: its block is freed).
    mutating func replace(_ b: Int, with entities: [UInt32]) {
        ensure(b)
        if entities.isEmpty {
            release(b)
            return
        }
        var sizeClass: UInt8 = 2
        while 1 << Int(sizeClass) < entities.count { sizeClass += 1 }
        if classes[b] != sizeClass { release(b); counts[b] = 0; moveToBlock(b, sizeClass: sizeClass) }
        for (q, e) in entities.enumerated() { self[b, q] = e }
        counts[b] = UInt32(entities.count)
    }

    private mutating func release(_ b: Int) {
        if classes[b] != Self.noBlock {
            let c = Int(classes[b])
            if c >= free.count { free.append(contentsOf: repeatElement([], count: c + 1 - free.count)) }
            free[c].append(locations[b])
        }
        classes[b] = Self.noBlock
        counts[b] = 0
        locations[b] = 0
    }

    /// Moves basket `b`'s entities to a block of class `sizeClass` and frees the old one.
    private mutating func moveToBlock(_ b: Int, sizeClass: UInt8) {
        let c = Int(sizeClass), capacity = 1 << c
        let location: UInt64
        if c < free.count, let reused = free[c].popLast() {
            location = reused
        } else if capacity > Self.segmentSize {
            segments.append([UInt32](repeating: 0, count: capacity))
            location = UInt64(segments.count - 1) << 32
        } else {
            if open == nil || open!.next + capacity > Self.segmentSize {
                segments.append([UInt32](repeating: 0, count: Self.segmentSize))
                open = (segments.count - 1, 0)
            }
            location = UInt64(open!.segment) << 32 | UInt64(open!.next)
            open!.next += capacity
        }
        let n = count(of: b), old = locations[b], oldClass = classes[b]
        let (toSegment, toStart) = (Int(location >> 32), Int(location & 0xFFFF_FFFF))
        let (fromSegment, fromStart) = (Int(old >> 32), Int(old & 0xFFFF_FFFF))
        for q in 0..<n { segments[toSegment][toStart + q] = segments[fromSegment][fromStart + q] }
        if oldClass != Self.noBlock {
            let oc = Int(oldClass)
            if oc >= free.count { free.append(contentsOf: repeatElement([], count: oc + 1 - free.count)) }
            free[oc].append(old)
        }
        locations[b] = location
        classes[b] = sizeClass
    }
}

extension BasketWindows {
    /// The form of ``SnapshotEncoder/write(arrays:)``: the basket count, every length, then
    /// every entity.
    func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(int: count)
        for n in counts { encoder.write(value: n) }
        for b in 0..<count {
            let n = Int(counts[b])
            guard n > 0 else { continue }
            let at = locations[b], start = Int(at & 0xFFFF_FFFF)
            segments[Int(at >> 32)].withUnsafeBufferPointer { s in
                encoder.write(raw: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: s[start..<(start + n)])))
            }
        }
    }

    init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        var b = 0
        var windows = self
        try decoder.readArrays(of: UInt32.self) { members in
            windows.replace(b, with: members)
            b += 1
        }
        self = windows
    }
}
