/// A set of dense indices that remembers insertion cheaply and clears in time
/// proportional to its size. Used to track which lists must be re-emitted.
public struct DirtySet: Sendable {
    private var flags: [Bool] = []
    /// The members, in first-insertion order.
    public private(set) var members: [UInt32] = []

    public init() {}

    @inline(__always)
    public mutating func insert(_ index: UInt32) {
        let i = Int(index)
        if i >= flags.count { flags.append(contentsOf: repeatElement(false, count: Swift.max(i + 1 - flags.count, flags.count))) }
        if !flags[i] { flags[i] = true; members.append(index) }
    }

    public func contains(_ index: UInt32) -> Bool {
        let i = Int(index)
        return i < flags.count && flags[i]
    }

    public var isEmpty: Bool { members.isEmpty }

    public mutating func removeAll() {
        for m in members { flags[Int(m)] = false }
        members.removeAll(keepingCapacity: true)
    }
}

extension DirtySet: SnapshotCodable {
    /// The members in insertion order (the flags follow from them).
    public func encode(to encoder: inout SnapshotEncoder) { encoder.write(array: members) }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        for m in try decoder.readArray(of: UInt32.self) { insert(m) }
    }
}
