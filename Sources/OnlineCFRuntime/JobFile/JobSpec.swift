import OnlineCFCore
import OnlineCFKV

/// Everything that defines a job, each field optional: what a job file says, or what the
/// command line says. ``overriding(with:)`` lays command-line flags over a job file and
/// ``resolve()`` applies the defaults and validates every field, reporting every problem
/// with its field path. Flags and job files go through the same validation.
public struct JobSpec: Sendable, Equatable {
    public var mode: JobConfiguration.Mode?
    public var source: String?
    public var follow: Bool?
    public var format: EventFormat?
    public var columns: [EventField]?
    public var deadLetter: String?
    public var algorithms: String?
    public var k: Int?
    public var itemHistory: Int?
    public var userHistory: Int?
    public var authorHistory: Int?
    public var exact: Bool?
    public var swingAlpha1: Double?
    public var swingAlpha2: Double?
    public var swingBeta: Double?
    public var swingMinUserBehavior: Int?
    public var swingMaxUserBehavior: Int?
    public var swingMaxUsersPerItem: Int?
    public var swingSeed: UInt64?
    public var swingUserWindow: Int?
    /// Swing rows recomputed exactly per emission (`swing.refresh_rows`).
    public var swingRefreshRows: Int?
    public var swingRebuildEvery: String?
    public var emitInterval: String?
    /// How often a streaming job snapshots its state (`checkpoint_every`): a duration or
    /// a count of new events; 0 = off.
    public var checkpointEvery: String?
    public var redis: String?
    public var namespace: String?
    public var stateDir: String?
    /// The writer lease's period (`kv.lease`), a duration.
    public var lease: String?
    public var metrics: String?
    /// u2i2i recall while streaming (`recall.algo` turns it on).
    public var recallAlgo: String?
    public var recallCount: Int?
    public var recallMaxSeeds: Int?
    public var recallMaxNeighbours: Int?
    public var recallPerAuthor: Int?
    public var recallExcludeSeen: Bool?
    public var recallExcludeOwnItems: Bool?
    /// `recall.blend_scale`: `max` or `raw` (``BlendScale``).
    public var recallBlendScale: String?
    public var recallRecentItems: Int?
    public var recallHalfLife: String?
    public var actionWeights: String?
    public var decayHalfLife: String?
    public var ttl: String?
    public var admitAfter: Int?
    public var hotUserLimit: Int?
    public var hotUserWindow: String?
    /// Workers sharing the job (`workers`), and this process's number (`worker`).
    public var workers: Int?
    public var worker: Int?
    /// Threads that compute (`threads`): a batch's lists, Swing's exact rebuilds.
    public var threads: Int?
    /// The popular list (`popular.half_life`, a duration; `popular.n`, 0 = off).
    public var popularHalfLife: String?
    public var popularCount: Int?
    /// Where each field came from, for error messages: field path → line of the job file.
    public var lines: [String: Int] = [:]
    /// Problems found while reading the job file, reported by ``resolve()`` with the rest.
    public var problems: [JobSpecError.Issue] = []

    public init() {}

    /// This spec with every field that `other` sets replaced by `other`'s.
    public func overriding(with other: JobSpec) -> JobSpec {
        var r = self
        r.problems += other.problems
        for setting in Self.settings { setting.take(from: other, into: &r) }
        return r
    }

    /// The recall options these fields give, defaults elsewhere; problems reported.
    public func recallOptions(_ problem: (String, String) -> Void = { _, _ in }) -> RecallOptions {
        var o = RecallOptions()
        o.count = recallCount ?? o.count
        o.maxSeeds = recallMaxSeeds ?? o.maxSeeds
        o.maxNeighbours = recallMaxNeighbours ?? o.maxNeighbours
        o.perAuthor = recallPerAuthor ?? o.perAuthor
        o.excludeSeen = recallExcludeSeen ?? o.excludeSeen
        o.excludeOwnItems = recallExcludeOwnItems ?? o.excludeOwnItems
        if let text = recallBlendScale {
            if let scale = BlendScale(rawValue: text) { o.blendScale = scale } else { problem("recall.blend_scale", "'\(text)' is not max or raw") }
        }
        if !(1...10_000).contains(o.count) { problem("recall.n", "\(o.count) is out of range: use 1 to 10000") }
        for (path, v) in [("recall.max_seeds", o.maxSeeds), ("recall.max_neighbours", o.maxNeighbours), ("recall.per_author", o.perAuthor)] where v < 0 {
            problem(path, "\(v) is out of range: use 0 (no limit) or more")
        }
        return o
    }

    /// A job ready to run: its configuration, where the KV store is, and its keys.
    public struct Resolved: Sendable {
        public var configuration: JobConfiguration
        public var location: KVLocation
        public var keys: KeySchema
    }

    /// Applies defaults and validates. Throws every problem at once.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(JobSpecError) -> Resolved {
        var issues: [JobSpecError.Issue] = problems
        func problem(_ path: String, _ message: String) { issues.append(.init(path: path, line: lines[path], message: message)) }

        var c = JobConfiguration()
        c.mode = mode ?? .stream
        if let source {
            do { c.source = try SourceSpec.parse(source) } catch { problem("source", "\(error)") }
        }
        c.follow = follow ?? false
        if c.follow && c.source == .stdin {
            problem("follow", "applies to file:, redis-stream: and kafka: sources (standard input ends when its writer closes it)")
        }
        if c.follow && c.mode == .batch { problem("follow", "a batch job reads its input to the end: leave follow out") }
        c.format = format ?? .jsonl
        c.columns = columns
        if columns != nil, c.format == .jsonl { problem("columns", "a column map applies to tsv and inter input, not jsonl") }
        if case .redisStream = c.source, c.format == .inter, columns == nil {
            problem("columns", "stream entries of format inter carry no header: name the columns (e.g. user,item,ignore,ts), or use --format tsv")
        }
        if case .kafka = c.source, c.format == .inter, columns == nil {
            problem("columns", "Kafka messages of format inter carry no header: name the columns (e.g. user,item,ignore,ts), or use --format tsv")
        }
        c.deadLetterPath = deadLetter
        c.threads = threads ?? JobConfiguration.defaultThreads
        if !(1...1024).contains(c.threads) { problem("threads", "\(c.threads) is out of range: use 1 to 1024") }
        let workerCount = workers ?? 1, workerIndex = worker ?? 0
        if !(1...1024).contains(workerCount) {
            problem("workers", "\(workerCount) is out of range: use 1 to 1024")
        } else if let assignment = WorkerAssignment(count: workerCount, index: workerIndex) {
            c.workers = assignment
            if assignment.isShared {
                if c.mode != .stream { problem("workers", "a \(c.mode == .batch ? "batch" : "rebuild") job runs as one worker: leave workers out") }
                if case .redisStream = c.source {
                    problem("source", "several workers cannot share a Redis Stream's consumer group: it hands each entry to one consumer, and every worker must read the whole input. Use a Kafka topic (kafka:…; each worker reads every partition), or a file source every worker reads")
                }
            }
        } else {
            problem("worker", "\(workerIndex) is out of range: use 0 to \(workerCount - 1) (workers: \(workerCount))")
        }
        if let metrics {
            let parts = metrics.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) { c.metricsAddress = metrics } else {
                problem("metrics", "'\(metrics)' is not host:port (example: 127.0.0.1:9464)")
            }
        }

        var p = ModelParameters()
        do { p.algorithms = try Algorithm.parseList(algorithms ?? "all") } catch { problem("algorithms", error.description) }
        p.k = k ?? ModelParameters.defaultK
        if !(1...10_000).contains(p.k) { problem("k", "\(p.k) is out of range: use 1 to 10000") }
        p.itemHistory = itemHistory ?? ModelParameters.defaultItemHistory
        p.userHistory = userHistory ?? ModelParameters.defaultUserHistory
        p.authorHistory = authorHistory ?? ModelParameters.defaultAuthorHistory
        for (path, v) in [("bounds.item_history", p.itemHistory), ("bounds.user_history", p.userHistory), ("bounds.author_history", p.authorHistory)] where v < 0 {
            problem(path, "\(v) is out of range: use 0 (unbounded) or more")
        }
        var s = SwingParameters()
        s.alpha1 = swingAlpha1 ?? s.alpha1; s.alpha2 = swingAlpha2 ?? s.alpha2; s.beta = swingBeta ?? s.beta
        s.minUserBehavior = swingMinUserBehavior ?? s.minUserBehavior; s.maxUserBehavior = swingMaxUserBehavior ?? s.maxUserBehavior
        s.maxUserNumPerItem = swingMaxUsersPerItem ?? s.maxUserNumPerItem; s.seed = swingSeed ?? s.seed
        s.streamingUserWindow = swingUserWindow ?? s.streamingUserWindow
        s.refreshRows = swingRefreshRows ?? s.refreshRows
        for (path, v) in [("swing.alpha1", s.alpha1), ("swing.alpha2", s.alpha2), ("swing.beta", s.beta)] where !(v >= 0 && v.isFinite) {
            problem(path, "\(v) is out of range: use a number ≥ 0")
        }
        if s.minUserBehavior < 1 { problem("swing.min_user_behavior", "\(s.minUserBehavior) is out of range: use 1 or more") }
        if s.maxUserBehavior < s.minUserBehavior || s.maxUserBehavior > 65_535 {
            problem("swing.max_user_behavior", "\(s.maxUserBehavior) is out of range: use min_user_behavior to 65535")
        }
        if !(2...20_000).contains(s.maxUserNumPerItem) { problem("swing.max_users_per_item", "\(s.maxUserNumPerItem) is out of range: use 2 to 20000") }
        if s.refreshRows < 0 { problem("swing.refresh_rows", "\(s.refreshRows) is out of range: use 0 (increments only) or more") }
        if s.streamingUserWindow < 0 { problem("swing.user_window", "\(s.streamingUserWindow) is out of range: use 0 (all) or more") }
        if s.alpha1 + Double(s.minUserBehavior) <= 0 { problem("swing.alpha1", "alpha1 + min_user_behavior must be > 0") }
        p.swing = s
        if let text = actionWeights {
            do { p.actionWeights = try ActionWeights(parsing: text) } catch { problem("action_weights", error.description) }
        }
        if let text = decayHalfLife {
            if let d = DurationText.parse(text), d > .zero { p.decayHalfLifeMillis = d.milliseconds } else {
                problem("decay_half_life", "'\(text)' is not a positive duration (examples: 6h, 7d)")
            }
        }
        if popularCount == 0 {
            p.popular = nil
        } else {
            var popular = PopularParameters()
            if let n = popularCount {
                if (1...10_000).contains(n) { popular.count = n } else { problem("popular.n", "\(n) is out of range: use 0 (off) or 1 to 10000") }
            }
            if let text = popularHalfLife {
                if let d = DurationText.parse(text), d >= .seconds(1) { popular.halfLifeMillis = d.milliseconds } else {
                    problem("popular.half_life", "'\(text)' is not a duration of at least 1s (examples: 1h, 1d)")
                }
            }
            p.popular = popular
        }
        if let text = ttl {
            if let d = DurationText.parse(text), d >= .seconds(1) { p.ttlMillis = d.milliseconds } else {
                problem("ttl", "'\(text)' is not a duration of at least 1s (examples: 6h, 7d)")
            }
        }
        if let n = admitAfter {
            if (1...255).contains(n) { p.admitAfter = n } else { problem("admit_after", "\(n) is out of range: use 1 (off) to 255") }
        }
        if let r = hotUserLimit {
            if r >= 1 { p.hotUserLimit = r } else { problem("hot_user.limit", "\(r) is out of range: use 1 or more") }
        }
        if let text = hotUserWindow {
            if let d = DurationText.parse(text), d >= .seconds(1) { p.hotUserWindowMillis = d.milliseconds } else {
                problem("hot_user.window", "'\(text)' is not a duration of at least 1s (examples: 10m, 1h)")
            }
            if hotUserLimit == nil { problem("hot_user.window", "applies to the hot-user guard: set hot_user.limit (or --hot-user-limit) too") }
        }
        if let text = recallAlgo {
            do {
                var r = RecallParameters(blend: try RecallBlend(parsing: text))
                let missing = r.blend.algorithms.filter { !p.algorithms.contains($0) }
                if !missing.isEmpty {
                    problem("recall.algo", "\(missing.map(\.rawValue).joined(separator: ", ")) must be among the job's algorithms to be blended")
                }
                r.options = recallOptions(problem)
                r.recentItems = recallRecentItems ?? r.recentItems
                if r.recentItems < 0 { problem("recall.recent_items", "\(r.recentItems) is out of range: use 0 (all) or more") }
                if let text = recallHalfLife {
                    if let d = DurationText.parse(text), d > .zero { r.halfLifeMillis = d.milliseconds } else {
                        problem("recall.half_life", "'\(text)' is not a positive duration (examples: 30m, 1h, 7d)")
                    }
                }
                p.recall = r
            } catch { problem("recall.algo", error.description) }
        } else if recallHalfLife != nil || recallRecentItems != nil {
            problem(recallHalfLife != nil ? "recall.half_life" : "recall.recent_items", "applies to recall: set recall.algo (or --recall) to turn it on")
        }
        c.parameters = exact == true ? p.exact() : p

        if let text = emitInterval {
            if let d = DurationText.parse(text), d >= .milliseconds(100) { c.emitInterval = d } else {
                problem("emit_interval", "'\(text)' is not a duration of at least 100ms (examples: 1s, 500ms, 60s, 5m)")
            }
        }
        if let text = checkpointEvery {
            do { c.checkpointEvery = try CheckpointInterval.parse(text) } catch { problem("checkpoint_every", "\(error)") }
        }
        if let text = lease {
            if let d = DurationText.parse(text), d >= .seconds(1), d <= .seconds(3600) { c.leasePeriod = d } else {
                problem("kv.lease", "'\(text)' is not a duration from 1s to 1h (examples: 15s, 1m)")
            }
        }
        if let text = swingRebuildEvery {
            if let d = DurationText.parse(text), d >= .seconds(1) { c.swingRebuildEvery = d } else {
                problem("swing.rebuild_every", "'\(text)' is not a duration of at least 1s (examples: 10m, 1h)")
            }
        }
        if let redis {
            do { _ = try RedisEndpoint(url: redis, environment: environment) } catch { problem("kv.redis", error.message) }
        }
        var keys: KeySchema?
        do { keys = try KeySchema(namespace: namespace ?? "ocf") } catch { problem("kv.namespace", error.description) }
        guard issues.isEmpty, let keys else { throw JobSpecError(issues: issues) }
        let location = KVLocation(url: redis, stateDirectory: stateDir ?? KVLocation.defaultStateDirectory(environment: environment))
        return Resolved(configuration: c, location: location, keys: keys)
    }
}

/// Problems with a job: each names the field (its path in the job file, such as
/// `swing.alpha1`) and, when it came from a file, the line.
public struct JobSpecError: Error, Sendable, CustomStringConvertible {
    public struct Issue: Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var line: Int?
        public var message: String
        public init(path: String, line: Int?, message: String) { self.path = path; self.line = line; self.message = message }
        public var description: String { (line.map { "line \($0): " } ?? "") + "\(path): \(message)" }
    }
    public var issues: [Issue]
    public init(issues: [Issue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

import Foundation
