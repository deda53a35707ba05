/// A log prepared for replay evaluation: events in event-time order with dense user and
/// item indices.
///
/// Guarantees: events are sorted by timestamp with a **stable** sort (events with equal
/// timestamps keep their input order); events without a timestamp are left out and
/// counted (``untimed``); user and item indices are given in order of first appearance
/// in the sorted log — the same order in which ``CFModel`` interns them when it applies
/// a prefix of the log, so a model's item index and the log's agree (the evaluator checks
/// this). `isRepeat[e]` is true when the user had the item at an earlier position.
public struct ReplayLog: Sendable {
    public private(set) var events: [Event] = []
    public private(set) var times: [Int64] = []
    public private(set) var users: [UInt32] = []
    public private(set) var items: [UInt32] = []
    public private(set) var isRepeat: [Bool] = []
    public private(set) var userNames = IdInterner()
    public private(set) var itemNames = IdInterner()
    /// Events given without a timestamp (left out).
    public private(set) var untimed = 0

    public init(_ input: [Event]) {
        var timed: [(Int, Event)] = []
        timed.reserveCapacity(input.count)
        for (n, e) in input.enumerated() {
            if e.timestampMillis != nil { timed.append((n, e)) } else { untimed += 1 }
        }
        // Stable: ties by input position.
        timed.sort { a, b in
            let ta = a.1.timestampMillis!, tb = b.1.timestampMillis!
            return ta != tb ? ta < tb : a.0 < b.0
        }
        events.reserveCapacity(timed.count)
        var pairs = Set<UInt64>()
        for (_, e) in timed {
            let u = userNames.intern(e.user), i = itemNames.intern(e.item)
            events.append(e)
            times.append(e.timestampMillis!)
            users.append(u)
            items.append(i)
            isRepeat.append(!pairs.insert(UInt64(u) << 32 | UInt64(i)).inserted)
        }
    }

    public var count: Int { events.count }
}
