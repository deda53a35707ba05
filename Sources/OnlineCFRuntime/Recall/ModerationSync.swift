import Foundation
import OnlineCFCore

/// Keeps a model's blocked items in step with the item table's statuses and expiries.
///
/// ``refresh(_:)`` costs one `GET` of the revision counter unless something changed or
/// an expiry fell due; then it reloads the table and blocks or unblocks the difference
/// (``CFModel/setBlocked(item:_:)`` marks the affected lists for the next emission).
/// Expiry follows the wall clock (`nowMillis`), as moderation does.
public final class ModerationSync {
    private let store: StateStore
    private var revision = -1
    private var moderation = ItemModeration()
    private var nextExpiry: Int64?
    private var applied = Set<String>()
    public var nowMillis: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    /// Items blocked now.
    public var blockedCount: Int { applied.count }

    public init(store: StateStore) { self.store = store }

    public func refresh(_ model: inout CFModel) throws {
        guard model.parameters.algorithms.contains(where: { $0.kind == .i2i }) || model.recent != nil else { return }
        let now = nowMillis()
        let current = try store.moderationRevision()
        if current != revision {
            moderation = try store.loadModeration()
            revision = current
        } else if let due = nextExpiry, due <= now {
        } else {
            return
        }
        let blocked = moderation.blockedItems(nowMillis: now)
        for item in applied.subtracting(blocked) { model.setBlocked(item: item, false) }
        for item in blocked.subtracting(applied) { model.setBlocked(item: item, true) }
        applied = blocked
        nextExpiry = moderation.nextExpiry(after: now)
    }
}
