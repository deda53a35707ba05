/// A count-min sketch of id occurrences with saturating 8-bit counters: a fixed amount of
/// memory (`depth × width` bytes) however many distinct ids pass through.
///
/// Guarantees: ``estimate(_:)`` is never below the true number of ``add(_:)`` calls for an
/// id (capped at 255), and exceeds it only through hash collisions; the same adds in the
/// same order give the same bytes (``bytes`` / ``init(bytes:)`` round-trip), so the sketch
/// can be checkpointed with the state.
public struct CountMinSketch: Sendable, Equatable {
    public let depth: Int
    public let width: Int
    public private(set) var bytes: [UInt8]

    public init(depth: Int = 4, width: Int = 1 << 16) {
        precondition(depth > 0 && width > 0 && width & (width - 1) == 0, "width must be a power of two")
        self.depth = depth
        self.width = width
        bytes = [UInt8](repeating: 0, count: depth * width)
    }

    /// A sketch from checkpointed bytes; nil when their size does not fit the shape.
    public init?(bytes: [UInt8], depth: Int = 4, width: Int = 1 << 16) {
        guard bytes.count == depth * width else { return nil }
        self.init(depth: depth, width: width)
        self.bytes = bytes
    }

    /// The counter of `id` in each row (no allocation: this runs once per event).
    @inline(__always)
    private static func forEachSlot(_ id: String, depth: Int, width: Int, _ body: (Int) -> Void) {
        // FNV-1a 64, then one multiply-xorshift per row: independent enough for counting.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        for row in 0..<depth {
            var x = h &+ UInt64(row) &* 0x9E37_79B9_7F4A_7C15
            x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
            x ^= x >> 29
            body(row * width + Int(truncatingIfNeeded: x) & (width - 1))
        }
    }

    /// Counts one occurrence of `id`; returns the new estimate.
    @discardableResult
    public mutating func add(_ id: String) -> Int {
        var estimate = Int.max
        Self.forEachSlot(id, depth: depth, width: width) { s in
            if bytes[s] < 255 { bytes[s] += 1 }
            estimate = min(estimate, Int(bytes[s]))
        }
        return estimate
    }

    public func estimate(_ id: String) -> Int {
        var estimate = Int.max
        Self.forEachSlot(id, depth: depth, width: width) { estimate = min(estimate, Int(bytes[$0])) }
        return estimate
    }
}
