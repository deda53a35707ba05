/// Which entities' lists a co-occurrence counter's updates may have changed, shared by
/// ``CooccurrenceCounter`` and ``WeightedCooccurrenceCounter``.
///
/// Guarantees: ``entities(normalised:full:forEachNeighbour:)`` holds every entity whose
/// list under a measure may differ from the last emission with the same `full`: touched
/// rows; for measures normalised by degrees, entities whose degree changed; and, with
/// `full`, every neighbour of an entity whose degree changed since the last full clear.
public struct CooccurrenceChanges: Sendable {
    /// Entities whose row changed since the last clear.
    public private(set) var rowChanged = DirtySet()
    /// Entities whose degree changed since the last clear.
    public private(set) var degreeChanged = DirtySet()
    /// Entities whose degree changed since the last full clear.
    public private(set) var degreeChangedSinceFull = DirtySet()

    public init() {}

    @inline(__always)
    public mutating func row(_ e: UInt32) { rowChanged.insert(e) }

    @inline(__always)
    public mutating func degree(_ e: UInt32) {
        degreeChanged.insert(e)
        degreeChangedSinceFull.insert(e)
    }

    /// `isForeign` (several workers) names the entities whose rows are not kept: their
    /// rows are empty, so with `full` the kept rows holding one whose degree changed are
    /// found by a scan of every one of the `rowCount` rows, once per full emission.
    public func entities(normalised: Bool, full: Bool, rowCount: Int = 0, isForeign: ((UInt32) -> Bool)? = nil,
                         forEachNeighbour: (UInt32, (UInt32) -> Void) -> Void) -> [UInt32] {
        var set = DirtySet()
        for e in rowChanged.members { set.insert(e) }
        if normalised {
            for e in degreeChanged.members { set.insert(e) }
            if full {
                var foreign = DirtySet()
                for e in degreeChangedSinceFull.members {
                    set.insert(e)
                    if let isForeign, isForeign(e) { foreign.insert(e) } else { forEachNeighbour(e) { set.insert($0) } }
                }
                if !foreign.isEmpty {
                    for x in 0..<UInt32(rowCount) where !set.contains(x) {
                        var holds = false
                        forEachNeighbour(x) { if !holds && foreign.contains($0) { holds = true } }
                        if holds { set.insert(x) }
                    }
                }
            }
        }
        return set.members
    }

    /// Marks entities `0..<count` changed in every way.
    public mutating func markAll(count: Int) {
        for e in 0..<count { row(UInt32(e)); degree(UInt32(e)) }
    }

    public mutating func clear(full: Bool) {
        rowChanged.removeAll()
        degreeChanged.removeAll()
        if full { degreeChangedSinceFull.removeAll() }
    }
}

extension CooccurrenceChanges: SnapshotCodable {
    public func encode(to encoder: inout SnapshotEncoder) {
        encoder.write(part: rowChanged)
        encoder.write(part: degreeChanged)
        encoder.write(part: degreeChangedSinceFull)
    }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        rowChanged = try decoder.readPart()
        degreeChanged = try decoder.readPart()
        degreeChangedSinceFull = try decoder.readPart()
    }
}
