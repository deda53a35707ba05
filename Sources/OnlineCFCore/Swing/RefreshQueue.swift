/// A first-in, first-out queue of indices in which each index waits at most once: the
/// Swing rows waiting for an exact recomputation, oldest first.
///
/// Guarantees: ``push(_:)`` of an index already waiting leaves it where it is, so an index's
/// position never moves back; ``pop(_:)`` takes from the front; ``position`` of the next push
/// is ``count``. Every operation is amortised O(1) per index.
public struct RefreshQueue: Sendable {
    private var waiting: [Bool] = []
    private var items: [UInt32] = []
    private var head = 0

    public init() {}

    /// Indices waiting.
    public var count: Int { items.count - head }
    public var isEmpty: Bool { head == items.count }

    public func contains(_ index: UInt32) -> Bool { Int(index) < waiting.count && waiting[Int(index)] }

    /// Appends `index` unless it is waiting already.
    @inline(__always)
    public mutating func push(_ index: UInt32) {
        let i = Int(index)
        if i >= waiting.count { waiting.append(contentsOf: repeatElement(false, count: Swift.max(i + 1 - waiting.count, waiting.count))) }
        if !waiting[i] { waiting[i] = true; items.append(index) }
    }

    /// Removes and returns the first `n` indices waiting (all of them when fewer wait).
    public mutating func pop(_ n: Int) -> [UInt32] {
        let end = head + Swift.min(Swift.max(0, n), count)
        let taken = Array(items[head..<end])
        for i in taken { waiting[Int(i)] = false }
        head = end
        if head == items.count {
            items.removeAll(keepingCapacity: true); head = 0
        } else if head > 4096 && head * 2 > items.count {
            items.removeFirst(head); head = 0
        }
        return taken
    }

    /// The indices waiting, front first.
    public var members: ArraySlice<UInt32> { items[head...] }
}

extension RefreshQueue: SnapshotCodable {
    /// The indices waiting, front first (the flags follow from them).
    public func encode(to encoder: inout SnapshotEncoder) { encoder.write(array: Array(members)) }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        for i in try decoder.readArray(of: UInt32.self) { push(i) }
    }
}
