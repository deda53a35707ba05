import Foundation
import OnlineCFCore

/// Everything a run or batch job needs to know, independent of where it came from
/// (command-line flags now; job files later override the same fields).
public struct JobConfiguration: Sendable {
    /// `.stream` keeps the namespace's state and adds to it, emitting every interval;
    /// `.batch` rebuilds the namespace from the input alone and emits once at the end.
    /// `.rebuild` reads no input: it restores the state, recomputes Swing exactly and
    /// emits every changed list.
    public enum Mode: Sendable { case stream, batch, rebuild }

    public var mode: Mode = .stream
    /// Where input lines come from (`--source`).
    public var source: SourceSpec = .stdin
    /// Keep waiting at the end of a file or folder source, or of a stream (`--follow`).
    public var follow = false
    public var format: EventFormat = .jsonl
    public var columns: [EventField]? = nil
    public var parameters = ModelParameters()
    public var emitInterval: Duration = .seconds(60)
    /// The writer lease's period (`kv.lease`, `--lease`): a process paused or cut off
    /// this long loses its namespace to the next one; renewed every third of it.
    public var leasePeriod: Duration = .seconds(15)
    /// How often a streaming job snapshots its state (nil: never; the log is then the
    /// whole state). See ``CheckpointInterval``.
    public var checkpointEvery: CheckpointInterval? = .default
    /// Recompute Swing exactly this often while streaming (nil: never).
    public var swingRebuildEvery: Duration? = nil
    /// New events per log chunk: the most uncommitted work a crash can cost (it is
    /// re-read from a replayable source; see docs/sources.md).
    public var eventsPerChunk = 50_000
    public var deadLetterPath: String? = nil
    /// Skip the lines of this input that an earlier run over the same input committed
    /// (standard input cannot be replayed, so the same input is piped again).
    public var resume = false
    /// `host:port` to serve Prometheus metrics on (nil: not served).
    public var metricsAddress: String? = nil
    /// Show a progress line on stderr (default: when stderr is a terminal).
    public var showProgress = false
    /// Which worker of the job this process is (`--workers`, `--worker`): it reads the
    /// events of the users it owns, applies every worker's, and writes the lists it owns.
    public var workers = WorkerAssignment.single
    /// Threads that compute: a batch's co-occurrence lists and every exact Swing
    /// computation (default: the machine's active cores, ``defaultThreads``).
    public var threads = JobConfiguration.defaultThreads

    /// The machine's active processor count.
    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    public init() {}
}

/// What a job did, printed at its end.
public struct RunSummary: Sendable {
    public var linesRead = 0
    public var events = 0
    public var newPairs = 0
    public var malformed = 0
    public var skipped = 0
    public var replayedEvents = 0
    /// Lines skipped by `--resume`.
    public var resumedLines = 0
    /// A shutdown request stopped the restore: nothing was read or written.
    public var restoreInterrupted = false
    /// Where a replayable source started reading (its committed position), if it says.
    public var resumedAt: String?
    /// What the source did, if it says (folders and streams).
    public var sourceReport: String?
    public var emissions = 0
    public var emission = EmissionStats()
    public var kvCommands = 0
    public var seconds = 0.0
    /// Parts of `seconds`: restoring the state, committing the log, emitting lists.
    public var restoreSeconds = 0.0, commitSeconds = 0.0, emitSeconds = 0.0, swingRebuildSeconds = 0.0
    public var swingRebuilds = 0
    /// Swing rows recomputed exactly by the refreshes of emissions, the time they took,
    /// and the rows still waiting at the end.
    public var swingRowsRefreshed = 0, swingRefreshSeconds = 0.0, swingRowsWaiting = 0
    /// Snapshots taken, and the time the loop spent taking them (encoding and writing;
    /// reading waits meanwhile).
    public var checkpoints = 0, checkpointSeconds = 0.0, checkpointBytes = 0
    /// The restore loaded a snapshot of this many bytes (nil: none) holding this many events.
    public var restoredSnapshotBytes: Int?, restoredSnapshotEvents = 0
    /// A batch: computing every co-occurrence list at once (part of `seconds`).
    public var computeSeconds: Double?
    /// Freshness: seconds from reading an event to the end of writing the emission that
    /// carried its lists, over every event read.
    public var freshness = WeightedPercentiles()
    /// Events left out by the hot-user guard, and before admission.
    public var hotUserEvents = 0, eventsBeforeAdmission = 0
    /// A shared job: what this worker keeps — its worker number and, per row kind (items,
    /// users, authors), the rows it keeps of all ids seen.
    /// A shared job's worker that had no state of its own started from worker 0's.
    public var startedFromWorkerZero = false
    public var workerRows: (worker: WorkerAssignment, kept: [(kind: String, kept: Int, of: Int)])?
    /// TTL expiry: users and items expired, and the user–item pairs live at the end (nil: no TTL).
    public var expiredUsers = 0, expiredItems = 0, livePairs: Int?
    /// Peak resident memory of this process (Linux `VmHWM`), in bytes, if known.
    public var peakResidentBytes: Int?

    public init() {}

    /// Reads the peak resident set size of this process from /proc (Linux).
    public static func currentPeakResidentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.filter(\.isNumber)
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }

    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }

    public var text: String {
        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        var lines = [
            "lines read: \(linesRead)  events: \(events)  new user-item pairs: \(newPairs)  malformed: \(malformed)  skipped (blank/header): \(skipped)",
            "emissions: \(emissions)  lists written: \(emission.listsWritten)  deleted: \(emission.listsDeleted)  unchanged: \(emission.listsUnchanged)",
            "KV commands: \(kvCommands) (\(events > 0 ? String(format: "%.3f", Double(kvCommands) / Double(events)) : "0") per event)  time: \(f(seconds)) s  (\(Int(eventsPerSecond)) events/s; restore \(f(restoreSeconds)) s, commit \(f(commitSeconds)) s, emit \(f(emitSeconds)) s)",
        ]
        if let p50 = freshness.percentile(0.5), let p99 = freshness.percentile(0.99) {
            lines.append("freshness (read → lists written): p50 \(String(format: "%.3f", p50)) s, p99 \(String(format: "%.3f", p99)) s, max \(String(format: "%.3f", freshness.percentile(1) ?? 0)) s")
        }
        if let peak = peakResidentBytes { lines.append("peak RSS: \(peak / (1 << 20)) MiB") }
        if hotUserEvents > 0 || eventsBeforeAdmission > 0 {
            lines.append("left out: \(hotUserEvents) events of hot users, \(eventsBeforeAdmission) events before admission")
        }
        if startedFromWorkerZero { lines.append("started from worker 0's state (this worker had none of its own): \(replayedEvents) events replayed, then a snapshot of its own taken") }
        if let workerRows {
            let kinds = workerRows.kept.map { "\($0.kept) of \($0.of) \($0.kind)" }.joined(separator: ", ")
            lines.append("worker \(workerRows.worker): keeps and writes the rows of \(kinds)")
        }
        if let livePairs {
            lines.append("TTL: expired \(expiredUsers) users, \(expiredItems) items; live user–item pairs: \(livePairs)")
        }
        if let computeSeconds { lines.append("co-occurrence lists computed in \(f(computeSeconds)) s") }
        if checkpoints > 0 { lines.append("snapshots: \(checkpoints) (\(f(checkpointSeconds)) s, last \(checkpointBytes / (1 << 20)) MiB)") }
        if swingRowsRefreshed > 0 || swingRowsWaiting > 0 {
            lines.append("Swing rows recomputed exactly: \(swingRowsRefreshed) (\(f(swingRefreshSeconds)) s), waiting: \(swingRowsWaiting)")
        }
        if swingRebuilds > 0 { lines.append("exact Swing rebuilds: \(swingRebuilds) (\(f(swingRebuildSeconds)) s)") }
        if let sourceReport { lines.append(sourceReport) }
        if let resumedAt { lines.insert(resumedAt, at: 0) }
        if resumedLines > 0 { lines.insert("resumed: skipped the first \(resumedLines) lines, committed by an earlier run", at: 0) }
        if (replayedEvents > 0 || restoredSnapshotBytes != nil) && !restoreInterrupted {
            let snapshot = restoredSnapshotBytes.map { "a snapshot of \(restoredSnapshotEvents) events (\($0 / (1 << 20)) MiB) loaded, " } ?? ""
            lines.insert("state restored from the KV store: \(snapshot)\(replayedEvents) logged events replayed", at: 0)
        }
        return lines.joined(separator: "\n")
    }
}

