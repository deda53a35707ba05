import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime

/// Where the KV store is.
struct KVOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "KV store URL: redis://[user[:password]@]host[:port][/db] or unix:///path.sock[?db=N]. Default: a private redis-server in --state-dir.",
        discussion: "The password may instead come from ONLINECF_REDIS_PASSWORD (and the ACL user from ONLINECF_REDIS_USER), which keeps it out of ps."))
    var redis: String?

    @Option(name: .long, help: "Key prefix of everything written: 1-64 of A-Z a-z 0-9 _ . - (default: ocf).")
    var namespace: String?

    @Option(name: .long, help: "Folder of the private redis-server (socket, data, log). Default: $ONLINECF_HOME or ./.onlinecf")
    var stateDir: String?

    /// The namespace in effect (for messages).
    var namespaceName: String { namespace ?? "ocf" }

    var spec: JobSpec {
        var s = JobSpec()
        s.redis = redis; s.namespace = namespace; s.stateDir = stateDir
        return s
    }

    /// Opens the store for a query; gives up after 10 s when it is unreachable.
    func open() throws -> (KVHandle, StateStore) {
        let resolved: JobSpec.Resolved
        do { resolved = try spec.resolve() } catch { throw ValidationError(error.description) }
        return try openStore(resolved, shutdown: .none(), retryForever: false)
    }
}

/// Options of the commands that write a namespace's state (run, batch, rebuild).
struct WriterOptions: ParsableArguments {
    @Option(name: .long, help: "Writer lease period: one process writes a (namespace, worker) at a time; a writer paused or cut off this long loses it to the next, and a second process is refused meanwhile (1s to 1h; default: 15s).")
    var lease: String?

    func apply(to s: inout JobSpec) { if let lease { s.lease = lease } }
}

/// Opens the store of a resolved job. Jobs (`retryForever`) wait out an outage.
func openStore(_ job: JobSpec.Resolved, shutdown: ShutdownSignal, retryForever: Bool) throws -> (KVHandle, StateStore) {
    let retry = retryForever ? RetryPolicy.default : RetryPolicy(maxElapsed: .seconds(10))
    let handle = try KVHandle.open(job.location, retry: retry, shouldGiveUp: { shutdown.isRequested })
    return (handle, StateStore(client: handle.client, keys: job.keys, worker: job.configuration.workers.index))
}

/// How input lines are read.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: "Input format: jsonl (one JSON object per line; default), tsv (tab-separated, see --columns), inter (RecBole/MovieLens .inter with its typed header).")
    var format: EventFormat?

    @Option(name: .long, help: ArgumentHelp(
        "Column map for tsv/inter: comma-separated fields among user,item,author,action,ts,ignore.",
        discussion: "Default for tsv: user,item,author,action,ts. For inter the header names the columns."))
    var columns: String?

    @Option(name: .long, help: "Append every malformed line, as read, to this file.")
    var deadLetter: String?

    func apply(to s: inout JobSpec) throws {
        s.format = format
        s.deadLetter = deadLetter
        if let columns {
            s.columns = try columns.split(separator: ",").map { part in
                guard let field = EventField(rawValue: String(part).trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown column '\(part)' in --columns; use user, item, author, action, ts or ignore")
                }
                return field
            }
        }
    }
}

extension EventFormat: ExpressibleByArgument {}

/// Which algorithms, with which bounds and parameters. Every option left out keeps the
/// job file's value, else the default named in its help.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Algorithms, comma-separated: all (default), cooccurrence (all but swing), itemcf, u2u, a2a, swing, or full names (itemcf:cooccurrence, itemcf:cosine, itemcf:jaccard, itemcf:lift, u2u:cosine, a2a:cosine).")
    var algos: String?

    @Option(name: .short, help: "Length of every list, top-k (default: 50).")
    var k: Int?

    @Option(name: .long, help: "ItemCF: a new item co-occurs with the user's last N distinct items (0 = all; default: 50).")
    var itemHistory: Int?

    @Option(name: .long, help: "u2u: a new user of an item co-occurs with the item's last N users (0 = all; default: 10).")
    var userHistory: Int?

    @Option(name: .long, help: "a2a: a new author of a user co-occurs with the user's last N authors (0 = all; default: 50).")
    var authorHistory: Int?

    @Flag(name: .long, help: "Lift every bound: the co-occurrence lists are then the exact formulas over the whole input (Swing's streaming window too).")
    var exact = false

    @Option(name: .long, help: "Threads that compute: a batch's co-occurrence lists (a sparse product over every item, user or author) and exact Swing (default: the machine's cores).")
    var threads: Int?

    @Option(name: .long, help: "The popular list (u2i2i's fallback): half-life of a user's weight in an item's count, event time, e.g. 6h, 1d (default: 1d).")
    var popularHalfLife: String?
    @Option(name: .long, help: "The popular list's length (0 = no popular list; default: 200).")
    var popularN: Int?

    @OptionGroup var statistics: StatisticsOptions
    @OptionGroup var swing: SwingOptions

    func apply(to s: inout JobSpec) {
        s.algorithms = algos; s.k = k; s.threads = threads
        s.itemHistory = itemHistory; s.userHistory = userHistory; s.authorHistory = authorHistory
        if exact { s.exact = true }
        s.popularHalfLife = popularHalfLife; s.popularCount = popularN
        statistics.apply(to: &s)
        swing.apply(to: &s)
    }
}

/// Action weights, decay, TTL expiry, admission and the hot-user guard: what shapes the
/// statistics (shared by `run`, `batch`, `rebuild` and `eval`).
struct StatisticsOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Weight of each action, e.g. click=1,like=2,share=3,dislike=-1; '*=w' for other actions (default: binary interactions).",
        discussion: "A (user, item) pair weighs its largest action weight; a negative weight removes the pair until a positive action. ItemCF and u2u count Σ min(weights); recall seeds sum them."))
    var actionWeights: String?

    @Option(name: .long, help: "Half-life of ItemCF and u2u statistics in event time, e.g. 6h, 7d: each contribution decays as 2^(−age/half-life) (default: no decay).")
    var decayHalfLife: String?

    @Option(name: .long, help: ArgumentHelp(
        "TTL expiry: a user or item with no event for longer than this much event time, e.g. 6h, 7d, loses its statistics and lists; list keys then expire after it in wall time (default: off).",
        discussion: "Idle means: its latest event is older than (latest event time applied) − TTL. Covers ItemCF, u2u, Swing and recall (not a2a); implies weighted ItemCF/u2u, weight 1 per action unless --action-weights."))
    var ttl: String?

    @Option(name: .long, help: "Frequency admission: a user or item enters the statistics at its N-th event, counted before in a fixed-size sketch (1 = off; default).")
    var admitAfter: Int?

    @Option(name: .long, help: "Hot-user guard: a user's events beyond R in one --hot-user-window of event time are left out (default: off).")
    var hotUserLimit: Int?

    @Option(name: .long, help: "The hot-user guard's window, e.g. 10m, 1h (default: 1h).")
    var hotUserWindow: String?

    func apply(to s: inout JobSpec) {
        s.actionWeights = actionWeights; s.decayHalfLife = decayHalfLife; s.ttl = ttl
        s.admitAfter = admitAfter; s.hotUserLimit = hotUserLimit; s.hotUserWindow = hotUserWindow
    }
}

/// Swing's parameters (shared by `run`, `batch`, `rebuild` and `eval`).
struct SwingOptions: ParsableArguments {
    @Option(name: .long, help: "Swing: alpha1 in the user weight 1/(alpha1 + |I_u|)^beta (default: 15).")
    var swingAlpha1: Double?
    @Option(name: .long, help: "Swing: alpha2 in w_u·w_v/(alpha2 + |I_u ∩ I_v|) (default: 0).")
    var swingAlpha2: Double?
    @Option(name: .long, help: "Swing: beta in the user weight (default: 0.3).")
    var swingBeta: Double?
    @Option(name: .long, help: "Swing: users with fewer distinct items are left out (default: 10).")
    var swingMinUserBehavior: Int?
    @Option(name: .long, help: "Swing: users with more distinct items are left out (default: 1000).")
    var swingMaxUserBehavior: Int?
    @Option(name: .long, help: "Swing: at most this many users per item, reservoir-sampled (default: 1000).")
    var swingMaxUsersPerItem: Int?
    @Option(name: .long, help: "Swing: seed of the sampling (default: 0).")
    var swingSeed: UInt64?
    @Option(name: .long, help: "Swing, streaming: a user's new item meets the item's last N users (0 = all; default: 50).")
    var swingUserWindow: Int?
    @Option(name: .long, help: "Swing, streaming: rows recomputed exactly at each emission, longest-waiting first; rows within reach take no increments (0 = increments only; default: 20000, in eval 0; see docs/algorithms.md#swing).")
    var swingRefreshRows: Int?

    func apply(to s: inout JobSpec) {
        s.swingAlpha1 = swingAlpha1; s.swingAlpha2 = swingAlpha2; s.swingBeta = swingBeta
        s.swingMinUserBehavior = swingMinUserBehavior; s.swingMaxUserBehavior = swingMaxUserBehavior
        s.swingMaxUsersPerItem = swingMaxUsersPerItem; s.swingSeed = swingSeed; s.swingUserWindow = swingUserWindow
        s.swingRefreshRows = swingRefreshRows
    }
}

func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

/// Runs `body` and turns runtime errors into a message on stderr and exit code 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ValidationError { throw error } catch let error as ExitCode { throw error } catch {
        stderrLine("onlinecf: error: \(error)")
        throw ExitCode(1)
    }
}
