/// The moderation status of an item.
public enum ItemStatus: String, Sendable, CaseIterable {
    /// Recommendable (the default for every item).
    case active
    /// Hidden by moderation: never recommended, may come back.
    case hidden
    /// Deleted: never recommended.
    case deleted
}

/// Which items must never be recommended: those with a status other than active, and
/// those whose expiry time has passed.
///
/// Guarantees: ``isBlocked(_:nowMillis:)`` is true exactly for an item whose status is
/// hidden or deleted, or whose expiry is ≤ `nowMillis`; ``nextExpiry(after:)`` is the
/// earliest expiry still in the future, so a caller knows when to look again.
public struct ItemModeration: Sendable, Equatable {
    public private(set) var status: [String: ItemStatus] = [:]
    public private(set) var expiresMillis: [String: Int64] = [:]

    public init(status: [String: ItemStatus] = [:], expiresMillis: [String: Int64] = [:]) {
        self.status = status.filter { $0.value != .active }
        self.expiresMillis = expiresMillis
    }

    public mutating func set(_ item: String, status s: ItemStatus) {
        status[item] = s == .active ? nil : s
    }

    public mutating func set(_ item: String, expiresMillis t: Int64?) { expiresMillis[item] = t }

    public func isBlocked(_ item: String, nowMillis: Int64) -> Bool {
        if status[item] != nil { return true }
        if let t = expiresMillis[item], t <= nowMillis { return true }
        return false
    }

    /// Every item blocked at `nowMillis`.
    public func blockedItems(nowMillis: Int64) -> Set<String> {
        var out = Set(status.keys)
        for (item, t) in expiresMillis where t <= nowMillis { out.insert(item) }
        return out
    }

    /// The earliest expiry later than `nowMillis`, if any.
    public func nextExpiry(after nowMillis: Int64) -> Int64? {
        expiresMillis.values.filter { $0 > nowMillis }.min()
    }
}
