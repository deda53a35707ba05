/// One user-behaviour event: `user` did `action` on `item` (created by `author`) at
/// `timestampMillis`.
///
/// Guarantees when produced by ``EventDecoder`` or ``EventGenerator``: `user` and `item`
/// are non-empty valid UTF-8 of at most ``EventDecoder/maxIdBytes`` bytes; `author` and
/// `action` are `nil` or obey the same rule (never empty). Ids are opaque: they are never
/// parsed as numbers, trimmed or normalised, so `"042"` and `"42"` are different ids.
public struct Event: Sendable, Hashable {
    /// The acting user's id.
    public var user: String
    /// The item acted upon.
    public var item: String
    /// The item's author (creator), or `nil` when unknown.
    public var author: String?
    /// The kind of behaviour (`click`, `like`, ...), or `nil` when unknown.
    public var action: String?
    /// Event time in milliseconds since the Unix epoch, or `nil` when absent.
    public var timestampMillis: Int64?

    public init(
        user: String, item: String, author: String? = nil, action: String? = nil,
        timestampMillis: Int64? = nil
    ) {
        self.user = user
        self.item = item
        self.author = author
        self.action = action
        self.timestampMillis = timestampMillis
    }
}

/// An input line format understood by ``EventDecoder``. See ``EventDecoder`` for the rules.
public enum EventFormat: String, Sendable, CaseIterable {
    /// One JSON object per line.
    case jsonl
    /// Tab-separated values in a fixed column order.
    case tsv
    /// RecBole atomic `.inter` file: tab-separated with a typed header line.
    case inter
}

/// What a tab-separated column holds. The raw values are the header names ``EventDecoder``
/// recognises for the `tsv` format.
public enum EventField: String, Sendable, CaseIterable {
    case user, item, author, action, ts, ignore
}

/// Result of decoding one input line.
public enum DecodedLine: Sendable, Equatable {
    /// A valid event.
    case event(Event)
    /// Nothing to do: a blank (all-whitespace) line or a header line.
    case skip
    /// The line is not a valid event; `reason` is a short human-readable explanation
    /// (no line number; the caller adds that).
    case malformed(reason: String)
}
