import OnlineCFCore

/// How often a streaming job takes a snapshot of its state (`--checkpoint-every`, job
/// field `checkpoint_every`): after a duration of the job's own time, or after a count of
/// new events (user–item pairs committed to the log) since the last snapshot.
///
/// A restart loads the latest snapshot and replays the log after it, so the interval
/// bounds the replay; each snapshot writes the whole model once, so the interval also
/// sets how often that cost is paid. The default, 5 minutes, keeps a restart's replay to
/// at most five minutes of input while writing the model at most 12 times an hour. A job
/// also takes one when its input ends. `0` turns snapshots off: the state is then the
/// whole log, replayed at every start (the only way to restart under other model
/// parameters, since a snapshot holds counts, not events).
public enum CheckpointInterval: Sendable, Equatable, CustomStringConvertible {
    case every(Duration)
    case events(Int)

    public static let `default` = CheckpointInterval.every(.seconds(300))

    /// `5m`, `30s`, `1h` (a duration) or `500000` (new events); `0` is nil (off).
    public static func parse(_ text: String) throws -> CheckpointInterval? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let n = Int(t) {
            guard n >= 0 else { throw RuntimeError("checkpoint interval '\(text)': use a duration such as 5m or a count of new events such as 500000; 0 turns snapshots off") }
            return n == 0 ? nil : .events(n)
        }
        guard let d = DurationText.parse(t) else {
            throw RuntimeError("checkpoint interval '\(text)': use a duration such as 5m or 30s, or a count of new events such as 500000; 0 turns snapshots off")
        }
        return d == .zero ? nil : .every(d)
    }

    public var description: String {
        switch self {
        case .every(let d): return "\(Double(d.milliseconds) / 1000)s"
        case .events(let n): return "\(n) events"
        }
    }
}
