/// Maps opaque string ids to dense `UInt32` indices and back.
///
/// Guarantees: the first id interned gets index 0, the next new one 1, and so on, so
/// replaying the same ids in the same order rebuilds the same indices. An index, once
/// given, never changes or is reused.
public struct IdInterner: Sendable {
    private var indexByName: [String: UInt32] = [:]
    /// The id of each index.
    public private(set) var names: [String] = []
    /// The first 8 bytes of each id, big-endian, zero-padded: comparing these orders ids
    /// byte-wise except when they are equal (then the full ids decide).
    public private(set) var sortKeys: [UInt64] = []

    public init() {}

    /// The number of distinct ids seen.
    public var count: Int { names.count }

    /// The index of `name`, adding it when new.
    @inline(__always)
    public mutating func intern(_ name: String) -> UInt32 {
        if let index = indexByName[name] { return index }
        let index = UInt32(names.count)
        indexByName[name] = index
        names.append(name)
        sortKeys.append(IdInterner.sortKey(name))
        return index
    }

    /// The index of `name` if it has been seen.
    public func index(of name: String) -> UInt32? { indexByName[name] }

    /// The first 8 bytes of `name`, big-endian, zero-padded.
    public static func sortKey(_ name: String) -> UInt64 {
        var key: UInt64 = 0
        var n = 0
        for b in name.utf8 {
            if n == 8 { break }
            key |= UInt64(b) << (56 - 8 * UInt64(n))
            n += 1
        }
        return key
    }

    /// The id of `index`.
    @inline(__always)
    public func name(_ index: UInt32) -> String { names[Int(index)] }
}

extension String {
    /// Byte-wise (UTF-8) ordering: the one order OnlineCF uses for ids everywhere
    /// (tie-breaks, export order), independent of Unicode normalisation or locale.
    @inline(__always)
    public func utf8Precedes(_ other: String) -> Bool {
        var a = self, b = other
        return a.withUTF8 { pa in b.withUTF8 { pb in
            let n = min(pa.count, pb.count)
            if n > 0, let ba = pa.baseAddress, let bb = pb.baseAddress {
                let c = memcmpBytes(ba, bb, n)
                if c != 0 { return c < 0 }
            }
            return pa.count < pb.count
        } }
    }
}

@inline(__always)
private func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int {
    for k in 0..<n where a[k] != b[k] { return a[k] < b[k] ? -1 : 1 }
    return 0
}

extension IdInterner: SnapshotCodable {
    /// The ids in index order (the lookup table and sort keys follow from them).
    public func encode(to encoder: inout SnapshotEncoder) { encoder.write(strings: names) }

    public init(from decoder: inout SnapshotDecoder) throws(SnapshotError) {
        self.init()
        let names = try decoder.readStrings()
        indexByName.reserveCapacity(names.count)
        for name in names { _ = intern(name) }
        guard self.names.count == names.count else { throw SnapshotError("the snapshot lists an id twice: it is damaged") }
    }
}
