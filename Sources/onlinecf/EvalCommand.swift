import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFRuntime

extension SeedTiming: ExpressibleByArgument {}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a time-ordered log and measure whether fresher lists recall better (hit rate at N per algorithm and refresh period).",
        discussion: """
        The log is sorted by timestamp (stable; events without one are left out) and replayed in \
        event time. Before each event (u, j) of the second half (--split) whose pair is new, two \
        queries are asked of the lists as of the last refresh: i2i — is j in the top-N list of \
        u's most recent item? u2i2i — is j among u's N u2i2i results from their recent items \
        (items u already had left out)? A refresh period Δ means the lists hold the events \
        before the last multiple of Δ (event time, since the Unix epoch): at most Δ stale. \
        'frozen' holds the events before the split and is never refreshed. With --seeds refresh (default) \
        the user's own items are also taken as of the last refresh; with --seeds live, up to the \
        query. A user with no earlier item gets a miss. Hit rate at N = hits / scored events; the \
        user-averaged hit rate averages each user's own hit rate.

        Prints a table (or --json) on stdout and writes an SVG chart to --plot. Each refresh \
        period and algorithm is replayed with its own model; --threads of them run at once. Needs no KV store.

        Example: onlinecf eval ml-100k.inter --plot docs/eval-ml-100k.svg
        """
    )

    @Argument(help: "The event log (- for stdin). Its events need timestamps.")
    var file: String

    @Option(name: .short, help: "A query hits when the event's item is among the first N results.")
    var n: Int = 50

    @Option(name: .long, help: "i2i algorithms to evaluate, comma-separated, each through both channels: itemcf:cosine, itemcf:jaccard, itemcf:cooccurrence, itemcf:lift, swing, or itemcf (all four ItemCF).")
    var algos: String = "itemcf:cosine,itemcf:jaccard,swing"

    @Option(name: .long, help: "A blend to evaluate after the algorithms, through both channels, e.g. swing:0.5,itemcf:cosine:0.5 (repeatable).")
    var blend: [String] = []

    @Option(name: .long, help: "Blends: max (each seed's list divided by its top score; default) or raw (scores as stored).")
    var blendScale: BlendScale = .max

    @Option(name: .long, help: "Refresh periods, comma-separated: durations (500ms, 30s, 1m, 1h, 1d) and/or frozen.")
    var deltas: String = "1m,1h,1d,frozen"

    @Option(name: .long, help: "Write the chart (SVG) here; 'none' writes none.")
    var plot: String = "eval.svg"

    @Flag(name: .long, help: "Print the result as JSON instead of the table.")
    var json = false

    @Option(name: .long, help: "Input format: inter, jsonl or tsv (default: inter for a .inter file, else jsonl).")
    var format: EventFormat?

    @Option(name: .long, help: "Column map for tsv/inter: comma-separated fields among user,item,author,action,ts,ignore.")
    var columns: String?

    @Option(name: .long, help: "Fraction of the log learned from before scoring starts; frozen holds exactly these events.")
    var split: Double = 0.5

    @Option(name: .long, help: "Whose behaviour the queries see: refresh (the user's items as of the last refresh, like the lists) or live (every earlier event of the user, lists still as of the last refresh).")
    var seeds: SeedTiming = .refresh

    @Option(name: .long, help: "u2i2i: distinct recent items kept per user as seeds (0 = all).")
    var recentItems: Int = 50

    @Option(name: .long, help: "u2i2i: half-life of a recent item's weight in event time, e.g. 1h, 7d (default: no decay).")
    var halfLife: String?

    @Option(name: .long, help: "u2i2i: use at most this many seeds, the heaviest (0 = all).")
    var maxSeeds: Int = 50

    @Option(name: .long, help: "u2i2i: use at most this many neighbours of each seed's list.")
    var maxNeighbours: Int = 50

    @Option(name: .long, help: "ItemCF: a new item co-occurs with the user's last N distinct items (0 = all; default: 50).")
    var itemHistory: Int?

    @Flag(name: .long, help: "Lift every bound (ItemCF history and Swing's streaming window).")
    var exact = false

    @OptionGroup var statistics: StatisticsOptions
    @OptionGroup var swing: SwingOptions

    @Option(name: .long, help: "Replays run at once, one per refresh period and algorithm, each with its own model.")
    var threads: Int = 2

    @Flag(name: .long, inversion: .prefixedNo, help: "Progress on stderr (default: when stderr is a terminal).")
    var progress: Bool = isTerminal(2)

    func parsedAlgorithms() throws -> [Algorithm] {
        var out: [Algorithm] = []
        for part in algos.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            let found: [Algorithm]
            if name == "itemcf" { found = [.itemcfCooccurrence, .itemcfCosine, .itemcfJaccard, .itemcfLift] } else if let a = Algorithm(rawValue: name), a.kind == .i2i {
                found = [a]
            } else {
                throw ValidationError("--algos: '\(name)' is not an i2i algorithm; use itemcf:cosine, itemcf:jaccard, itemcf:cooccurrence, itemcf:lift, swing or itemcf")
            }
            for a in found where !out.contains(a) { out.append(a) }
        }
        guard !out.isEmpty else { throw ValidationError("--algos: name at least one i2i algorithm") }
        return out
    }

    func parsedPolicies() throws -> [RefreshPolicy] {
        var out: [RefreshPolicy] = []
        for part in deltas.split(separator: ",") {
            guard let p = RefreshPolicy(parsing: String(part)) else {
                throw ValidationError("--deltas: '\(part)' is not a duration (500ms, 30s, 1m, 1h, 1d) or frozen")
            }
            if !out.contains(p) { out.append(p) }
        }
        guard !out.isEmpty else { throw ValidationError("--deltas: name at least one refresh period") }
        return out
    }

    func validate() throws {
        guard n >= 1 && n <= 10_000 else { throw ValidationError("-n must be 1 to 10000") }
        guard split > 0 && split < 1 else { throw ValidationError("--split must be between 0 and 1 (exclusive)") }
        guard recentItems >= 0, maxSeeds >= 0, maxNeighbours >= 1 else {
            throw ValidationError("--recent-items and --max-seeds must be ≥ 0, --max-neighbours ≥ 1")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        _ = try parsedAlgorithms()
        _ = try parsedPolicies()
        if let halfLife, (DurationText.parse(halfLife) ?? .zero) <= .zero {
            throw ValidationError("--half-life: '\(halfLife)' is not a positive duration (examples: 30m, 1h, 7d)")
        }
    }

    func configuration() throws -> ReplayConfiguration {
        var spec = JobSpec()
        spec.itemHistory = itemHistory
        if exact { spec.exact = true }
        statistics.apply(to: &spec)
        swing.apply(to: &spec)
        // A replay compresses months of refreshes into minutes: Swing rows are not
        // recomputed at each one unless asked (docs/evaluation.md).
        if swing.swingRefreshRows == nil { spec.swingRefreshRows = 0 }
        let resolved: JobSpec.Resolved
        do { resolved = try spec.resolve() } catch {
            throw ValidationError(error.issues.map { "--" + $0.path.split(separator: ".").last!.replacingOccurrences(of: "_", with: "-") + ": " + $0.message }.joined(separator: "\n"))
        }
        var c = ReplayConfiguration(algorithms: try parsedAlgorithms())
        c.parameters = resolved.configuration.parameters
        c.n = n
        c.policies = try parsedPolicies()
        c.split = split
        c.seeds = seeds
        c.recentItems = recentItems
        if let halfLife, let d = DurationText.parse(halfLife) {
            c.halfLifeMillis = d.milliseconds
        }
        c.recall.maxSeeds = maxSeeds
        c.recall.maxNeighbours = maxNeighbours
        c.recall.blendScale = blendScale
        c.blends = try blend.map { text in
            do { return try RecallBlend(parsing: text) } catch { throw ValidationError("--blend: \(error)") }
        }
        c.threads = threads
        return c
    }

    /// Reads and decodes the whole input; malformed lines are reported and skipped.
    func readEvents() throws -> [Event] {
        let data: Data?
        if file == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else { data = FileManager.default.contents(atPath: file) }
        guard let data else { throw ValidationError("cannot read '\(file)'") }
        let fmt = format ?? (file.hasSuffix(".inter") ? .inter : .jsonl)
        var columnMap: [EventField]?
        if let columns {
            columnMap = try columns.split(separator: ",").map { part in
                guard let f = EventField(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown column '\(part)' in --columns; use user, item, author, action, ts or ignore")
                }
                return f
            }
        }
        var decoder: EventDecoder
        do { decoder = try EventDecoder(format: fmt, columns: columnMap) } catch { throw ValidationError(error.description) }
        var events: [Event] = []
        var malformed = 0
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0, line = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                line += 1
                switch decoder.decode(UnsafeBufferPointer(rebasing: bytes[start..<end]), lineNumber: line) {
                case .event(let e): events.append(e)
                case .skip: break
                case .malformed(let reason):
                    malformed += 1
                    if malformed <= 5 { stderrLine("line \(line): \(reason)") }
                }
                start = end + 1
            }
        }
        if malformed > 0 { stderrLine("\(malformed) malformed line\(malformed == 1 ? "" : "s") skipped") }
        if let problem = decoder.headerProblem { throw ValidationError("\(file): \(problem); pass --columns or use --format tsv") }
        return events
    }

    func run() throws {
        let config = try configuration()
        try reportingErrors { try evaluate(config) }
    }

    func evaluate(_ config: ReplayConfiguration) throws {
        let clock = ContinuousClock()
        let started = clock.now
        let log = ReplayLog(try readEvents())
        guard log.count > 1 else { throw ValidationError("\(file): fewer than two timestamped events; nothing to replay") }
        let total = log.count
        let names = config.policies.map(\.description)
        let showProgress = progress
        let reporter = ProgressLine(policies: config.policies.count, algorithms: config.algorithms.count + config.blends.count)
        var report: ReplayEvaluator.Progress?
        if showProgress {
            report = { policy, algorithm, position in
                if let line = reporter.update(policy, algorithm, position, total: total, names: names) { FileHandle.standardError.write(Data(line.utf8)) }
            }
        }
        let result = ReplayEvaluator.run(log, config, progress: report)
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let source = file == "-" ? "stdin" : URL(fileURLWithPath: file).lastPathComponent
        var out = StandardOutput()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            out.write(String(decoding: try encoder.encode(result), as: UTF8.self) + "\n")
        } else {
            let splitTime = result.splitTimeMillis.map { ms -> String in
                let f = ISO8601DateFormatter()
                f.formatOptions = [.withInternetDateTime]
                return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
            }
            out.write(ReplayReport.table(result, source: source, splitTime: splitTime))
        }
        out.flush()
        if plot != "none" {
            let svg = ReplayReport.svg(result, source: source)
            guard FileManager.default.createFile(atPath: plot, contents: Data(svg.utf8)) else {
                throw ValidationError("cannot write the chart to '\(plot)'")
            }
        }
        let seconds = (clock.now - started).timeInterval
        stderrLine("eval: \(String(format: "%.1f", seconds)) s\(plot != "none" ? "; chart written to \(plot)" : "")")
    }
}

/// The progress line of `eval`: how far each refresh period's replays are, at most ~5 times a second.
final class ProgressLine: @unchecked Sendable {
    // Safe: every access holds `lock`.
    private let lock = NSLock()
    private var positions: [[Int]]
    private var last = ContinuousClock.now

    init(policies: Int, algorithms: Int) { positions = Array(repeating: Array(repeating: 0, count: algorithms), count: policies) }

    func update(_ policy: Int, _ algorithm: Int, _ position: Int, total: Int, names: [String]) -> String? {
        lock.lock(); defer { lock.unlock() }
        positions[policy][algorithm] = position
        let now = ContinuousClock.now
        guard now - last >= .milliseconds(200) else { return nil }
        last = now
        let parts = names.indices.map { p in "\(names[p]) \(100 * positions[p].reduce(0, +) / max(1, total * positions[p].count))%" }
        return "\r\u{1B}[Keval: " + parts.joined(separator: "  ")
    }
}

extension BlendScale: ExpressibleByArgument {}
