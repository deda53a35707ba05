/// How often the lists a replay evaluation queries are refreshed, in event time.
///
/// - ``every(millis:)`` Δ: refresh boundaries are the multiples of Δ since the Unix epoch
///   (so `1d` refreshes at 00:00 UTC, `1h` on the hour). A query at event time `t` sees
///   the model holding exactly the events with timestamp `< ⌊t/Δ⌋·Δ`: the lists as of the
///   last boundary, at most Δ old. Events since then are buffered and applied, in log
///   order, when the first event at or after the next boundary arrives.
/// - ``frozen``: the model holds the first half of the log (the events before the split,
///   see ``ReplayConfiguration/split``) and is never refreshed.
///
/// Text form: `frozen`, or a positive number and a unit: `500ms`, `30s`, `1m`, `1h`, `1d`.
public enum RefreshPolicy: Sendable, Hashable, CustomStringConvertible {
    case every(millis: Int64)
    case frozen

    public init?(parsing text: String) {
        let t = text.trimmingSpacesCompat()
        if t == "frozen" { self = .frozen; return }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (unit, scale) in units where t.hasSuffix(unit) {
            let number = t.dropLast(unit.count)
            guard let v = Int64(number), v > 0, v <= Int64.max / scale else { continue }
            self = .every(millis: v * scale)
            return
        }
        return nil
    }

    /// `1m`, `1h`, `1d`, `90s`, `500ms` or `frozen`: the largest unit that divides Δ.
    public var description: String {
        switch self {
        case .frozen: return "frozen"
        case .every(let ms):
            for (unit, scale) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms % scale == 0 {
                return "\(ms / scale)\(unit)"
            }
            return "\(ms)ms"
        }
    }

    /// `⌊t/Δ⌋`, the refresh window holding `t` (also for negative `t`).
    @inline(__always)
    static func window(_ t: Int64, _ delta: Int64) -> Int64 {
        let q = t / delta
        return (t % delta != 0 && t < 0) ? q - 1 : q
    }
}

extension String {
    func trimmingSpacesCompat() -> String { Substring(self).trimmingSpaces() }
}
