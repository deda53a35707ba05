import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFKV

/// Where the KV store is.
struct KVOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "KV store URL: redis://[user[:password]@]host[:port][/db] or unix:///path.sock[?db=N]. Default: a private redis-server in --state-dir.",
        discussion: "The password may instead come from ONLINECF_REDIS_PASSWORD (and the ACL user from ONLINECF_REDIS_USER), which keeps it out of ps."))
    var redis: String?

    @Option(name: .long, help: "Key prefix of everything written (A-Z a-z 0-9 _ . -).")
    var namespace: String = "ocf"

    @Option(name: .long, help: "Folder of the private redis-server (socket, data, log). Default: $ONLINECF_HOME or ./.onlinecf")
    var stateDir: String?

    /// Opens the store. Jobs (`retryForever`) wait out an outage; queries give up after 10 s.
    func open(shutdown: ShutdownSignal = .none(), retryForever: Bool = false) throws -> (KVHandle, StateStore) {
        let keys = try KeySchema(namespace: namespace)
        let retry = retryForever ? RetryPolicy.default : RetryPolicy(maxElapsed: .seconds(10))
        let handle = try KVHandle.open(KVLocation(url: redis, stateDirectory: stateDir), retry: retry, shouldGiveUp: { shutdown.isRequested })
        return (handle, StateStore(client: handle.client, keys: keys))
    }
}

/// How input lines are read.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: "Input format: jsonl (one JSON object per line), tsv (tab-separated, see --columns), inter (RecBole/MovieLens .inter with its typed header).")
    var format: EventFormat = .jsonl

    @Option(name: .long, help: ArgumentHelp(
        "Column map for tsv/inter: comma-separated fields among user,item,author,action,ts,ignore.",
        discussion: "Default for tsv: user,item,author,action,ts. For inter the header names the columns."))
    var columns: String?

    @Option(name: .long, help: "Append every malformed line, as read, to this file.")
    var deadLetter: String?

    func columnMap() throws -> [EventField]? {
        guard let columns else { return nil }
        return try columns.split(separator: ",").map { part in
            guard let field = EventField(rawValue: String(part).trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown column '\(part)' in --columns; use user, item, author, action, ts or ignore")
            }
            return field
        }
    }
}

extension EventFormat: ExpressibleByArgument {}

/// Which algorithms and bounds.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Algorithms to maintain, comma-separated: all, itemcf, u2u, a2a, swing, cooccurrence (all but swing), or full names (itemcf:cooccurrence, itemcf:cosine, itemcf:jaccard, itemcf:lift, u2u:cosine, a2a:cosine).")
    var algos: String = "all"

    @Option(name: .short, help: "Length of every list (top-k).")
    var k: Int = ModelParameters.defaultK

    @Option(name: .long, help: "ItemCF: a new item co-occurs with the user's last N distinct items (0 = all).")
    var itemHistory: Int = ModelParameters.defaultItemHistory

    @Option(name: .long, help: "u2u: a new user of an item co-occurs with the item's last N users (0 = all).")
    var userHistory: Int = ModelParameters.defaultUserHistory

    @Option(name: .long, help: "a2a: a new author of a user co-occurs with the user's last N authors (0 = all).")
    var authorHistory: Int = ModelParameters.defaultAuthorHistory

    @Flag(name: .long, help: "Lift every bound: the co-occurrence lists are then the exact formulas over the whole input (Swing's streaming window too).")
    var exact = false

    @Option(name: .long, help: "Swing: alpha1 in the user weight 1/(alpha1 + |I_u|)^beta.")
    var swingAlpha1: Double = 15
    @Option(name: .long, help: "Swing: alpha2 in w_u·w_v/(alpha2 + |I_u ∩ I_v|).")
    var swingAlpha2: Double = 0
    @Option(name: .long, help: "Swing: beta in the user weight.")
    var swingBeta: Double = 0.3
    @Option(name: .long, help: "Swing: users with fewer distinct items are left out.")
    var swingMinUserBehavior: Int = 10
    @Option(name: .long, help: "Swing: users with more distinct items are left out.")
    var swingMaxUserBehavior: Int = 1000
    @Option(name: .long, help: "Swing: at most this many users per item (reservoir-sampled, seeded).")
    var swingMaxUsersPerItem: Int = 1000
    @Option(name: .long, help: "Swing: seed of the sampling.")
    var swingSeed: UInt64 = 0
    @Option(name: .long, help: "Swing, streaming: a user's new item meets the item's last N users (0 = all).")
    var swingUserWindow: Int = 50

    func parameters() throws -> ModelParameters {
        let algorithms: Set<Algorithm>
        do { algorithms = try Algorithm.parseList(algos) } catch { throw ValidationError(error.description) }
        guard k >= 1, k <= 10_000 else { throw ValidationError("-k must be between 1 and 10000") }
        for (name, v) in [("--item-history", itemHistory), ("--user-history", userHistory), ("--author-history", authorHistory)] where v < 0 {
            throw ValidationError("\(name) must be 0 (unbounded) or more")
        }
        var p = ModelParameters(algorithms: algorithms, itemHistory: itemHistory, userHistory: userHistory, authorHistory: authorHistory, k: k)
        guard swingAlpha1 >= 0, swingAlpha2 >= 0, swingBeta >= 0, swingAlpha1 + Double(swingMinUserBehavior) > 0 else {
            throw ValidationError("--swing-alpha1, --swing-alpha2 and --swing-beta must be ≥ 0")
        }
        guard swingMinUserBehavior >= 1, swingMaxUserBehavior >= swingMinUserBehavior, swingMaxUserBehavior <= 65_535 else {
            throw ValidationError("need 1 ≤ --swing-min-user-behavior ≤ --swing-max-user-behavior ≤ 65535")
        }
        guard swingMaxUsersPerItem >= 2, swingMaxUsersPerItem <= 20_000, swingUserWindow >= 0 else {
            throw ValidationError("--swing-max-users-per-item must be between 2 and 20000, --swing-user-window ≥ 0")
        }
        p.swing.alpha1 = swingAlpha1; p.swing.alpha2 = swingAlpha2; p.swing.beta = swingBeta
        p.swing.minUserBehavior = swingMinUserBehavior; p.swing.maxUserBehavior = swingMaxUserBehavior
        p.swing.maxUserNumPerItem = swingMaxUsersPerItem; p.swing.seed = swingSeed; p.swing.streamingUserWindow = swingUserWindow
        return exact ? p.exact() : p
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
