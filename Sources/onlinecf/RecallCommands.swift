import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFRuntime

/// The knobs of a u2i2i list, shared by `u2i2i` and by `run`/`batch` with `--recall`.
struct RecallListOptions: ParsableArguments {
    @Option(name: .short, help: "Length of the u2i2i list (default: 50).")
    var n: Int?
    @Option(name: .long, help: "Use at most this many seeds, the heaviest (0 = all; default: 50).")
    var maxSeeds: Int?
    @Option(name: .long, help: "Use at most this many neighbours of each seed per list (0 = all; default: 50).")
    var maxNeighbours: Int?
    @Option(name: .long, help: "At most this many results by one author (0 = no cap; default).")
    var perAuthor: Int?
    @Flag(name: .long, help: "Keep items the user already interacted with (left out by default).")
    var includeSeen = false
    @Flag(name: .long, help: "Keep items whose author is the user (left out by default).")
    var includeOwnItems = false
    @Option(name: .long, help: "A blend of two or more lists: max (each seed's list divided by its top score, so blend weights compare; default) or raw (scores as stored).")
    var blendScale: String?

    func apply(to s: inout JobSpec) {
        s.recallCount = n; s.recallMaxSeeds = maxSeeds; s.recallMaxNeighbours = maxNeighbours; s.recallPerAuthor = perAuthor
        s.recallBlendScale = blendScale
        if includeSeen { s.recallExcludeSeen = false }
        if includeOwnItems { s.recallExcludeOwnItems = false }
    }
}

/// `run`/`batch`: u2i2i recall maintained while streaming.
struct RecallRunOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Maintain u2i2i recall from each user's recent items through these i2i lists, e.g. swing:0.6,itemcf:cosine:0.4 (default: off).",
        discussion: "Every user with new events gets {ns}:recent:{user} and {ns}:u2i2i:{user} rewritten at each emission."))
    var recall: String?
    @Option(name: .long, help: "Recall: half-life of a recent item's seed weight in event time, e.g. 1h, 7d (default: no decay).")
    var recallHalfLife: String?
    @Option(name: .long, help: "Recall: distinct recent items kept per user (0 = all; default: 50).")
    var recentItems: Int?
    @OptionGroup var list: RecallListOptions

    func apply(to s: inout JobSpec) {
        s.recallAlgo = recall; s.recallHalfLife = recallHalfLife; s.recallRecentItems = recentItems
        list.apply(to: &s)
    }
}

extension SeedSource: ExpressibleByArgument {}

struct U2I2ICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "u2i2i",
        abstract: "Print a user's u2i2i recall: their seed items expanded through i2i lists.",
        discussion: """
        score(u, j) = Σ_a w_a · Σ_i seed(u, i) · sim_a(i, j) over the user's seeds i and the \
        entries j of their lists, ties by item id. Seeds come from {ns}:u2i:{user} (an upstream \
        model, or 'onlinecf u2i load') and/or {ns}:recent:{user} (kept by 'run --recall'). \
        Hidden, deleted and expired items are never returned.

        Output: item TAB score (with --users: user TAB item TAB score), best first.
        """
    )
    @Argument(help: "The user id (or give --users).") var user: String?
    @Option(name: .long, help: "A file of user ids, one per line (- for stdin): prints every user's list in one process.")
    var users: String?
    @Option(name: .long, help: "The i2i list(s) and weights, e.g. itemcf:cosine (default) or swing:0.6,itemcf:cosine:0.4.")
    var algo: String = "itemcf:cosine"
    @Option(name: .long, help: "Seed source: u2i, recent or both (default: both).")
    var seeds: SeedSource = .both
    @Option(name: .long, help: "Seeds given with the request, ITEM[:WEIGHT],… (weight 1 when absent): they join the stored seeds (weights summed per item), or replace them with --replace-seeds. They count as seen items. Works for a user the store has never seen.")
    var seedItems: String?
    @Flag(name: .long, help: "Use only the --seed-items, not the stored seeds (the stored history still counts as seen).")
    var replaceSeeds = false
    @Option(name: .long, help: "Items never returned, ITEM,…")
    var exclude: String?
    @Flag(name: .long, help: "Also print which seeds and lists contributed to each item.")
    var explain = false
    @Flag(name: .long, inversion: .prefixedNo, help: "Pad a list shorter than -n with the popular list (its entries marked with --explain; default: on).")
    var fallback = true
    @Flag(name: .long, help: "Answer each user from the KV store afresh (no lists shared between users) and print the latency p50/p99 on stderr.")
    var latency = false
    @OptionGroup var list: RecallListOptions
    @OptionGroup var kv: KVOptions

    func validate() throws {
        if (user == nil) == (users == nil) { throw ValidationError("give a USER or --users FILE (one of them)") }
        do { _ = try RecallBlend(parsing: algo) } catch { throw ValidationError("--algo: \(error)") }
        _ = try request()
        if replaceSeeds && seedItems == nil { throw ValidationError("--replace-seeds needs --seed-items") }
    }

    private func request() throws -> RecallRequest {
        do {
            return RecallRequest(seeds: try seedItems.map(RecallRequest.parseSeeds) ?? [], replacesStoredSeeds: replaceSeeds,
                                 exclude: try exclude.map(RecallRequest.parseExclude) ?? [])
        } catch {
            throw ValidationError("--seed-items/--exclude: \(error)")
        }
    }

    func run() throws {
        var spec = JobSpec()
        list.apply(to: &spec)
        var problems: [String] = []
        var options = spec.recallOptions { path, message in problems.append("\(path): \(message)") }
        options.fallback = fallback
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "\n")) }
        let blend = try RecallBlend(parsing: algo)
        let request = try request()
        let ids: [String]
        if let users {
            let data = users == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: users)
            guard let data else { throw ValidationError("cannot read '\(users)'") }
            ids = String(decoding: data, as: UTF8.self).split(separator: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }.filter { !$0.isEmpty }
        } else {
            ids = [user!]
        }
        try reportingErrors {
            let (handle, store) = try kv.open()
            defer { handle.close() }
            let recall = KVRecall(store: store, blend: blend, options: options, seeds: seeds, cacheLists: ids.count > 1 && !latency)
            var out = StandardOutput()
            var timings = WeightedPercentiles()
            let clock = ContinuousClock()
            for id in ids {
                let started = clock.now
                let answer = try recall.recommend(user: id, explain: explain, request: request)
                if latency { timings.record((clock.now - started).timeInterval, weight: 1) }
                if answer.seeds == 0 && ids.count == 1 {
                    stderrLine("user '\(id)' has no \(seeds == .both ? "" : seeds.rawValue + " ")seeds in namespace '\(kv.namespaceName)'")
                }
                let prefix = users != nil ? TSVEscaping.escape(id) + "\t" : ""
                for entry in answer.entries {
                    out.write("\(prefix)\(TSVEscaping.escape(entry.item))\t\(entry.score)\n")
                    if explain && entry.fallback { out.write("  ← popular fallback (\(ListFamily.popular) list)\n") }
                    for c in entry.contributions {
                        out.write("  ← \(TSVEscaping.escape(c.seed))\t\(c.algorithm)\tseed weight \(c.seedWeight) × similarity \(c.similarity)\(c.scaledSimilarity != c.similarity ? " (scaled \(c.scaledSimilarity))" : "") = \(c.amount)\n")
                    }
                }
            }
            out.flush()
            if latency, let p50 = timings.percentile(0.5), let p99 = timings.percentile(0.99) {
                stderrLine(String(format: "u2i2i latency over %d users: p50 %.3f ms, p99 %.3f ms", ids.count, p50 * 1000, p99 * 1000))
            }
        }
    }
}

struct U2ICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "u2i", abstract: "Manage u2i seeds ({ns}:u2i:{user}).", subcommands: [Load.self])

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a TSV file of 'user<TAB>item<TAB>weight' lines as u2i seeds.",
            discussion: "A line sets the weight of one (user, item); with --replace each user's earlier seeds are dropped first. Malformed lines are reported with their line number and skipped."
        )
        @OptionGroup var kv: KVOptions
        @Argument(help: "The TSV file (- for stdin).") var file: String
        @Flag(name: .long, help: "Replace each listed user's seeds instead of adding to them.") var replace = false

        func run() throws {
            var rows: [(user: String, item: String, weight: Double)] = []
            var bad = 0
            try forEachTSVLine(file) { n, fields in
                if n == 1, fields.first == "user" { return }
                guard fields.count >= 3, !fields[0].isEmpty, !fields[1].isEmpty, fields[0].utf8.count <= 512, fields[1].utf8.count <= 512,
                      let w = Double(fields[2]), w.isFinite else {
                    bad += 1
                    stderrLine("line \(n): expected 'user<TAB>item<TAB>weight' with non-empty ids of at most 512 bytes and a finite number")
                    return
                }
                rows.append((String(fields[0]), String(fields[1]), w))
            }
            try reportingErrors {
                let (handle, store) = try kv.open()
                defer { handle.close() }
                try store.storeU2ISeeds(rows, replace: replace)
            }
            stderrLine("loaded \(rows.count) seeds, \(bad) malformed lines")
        }
    }
}

/// Calls `body` with each non-empty line's number (from 1) and tab-separated fields.
func forEachTSVLine(_ file: String, _ body: (Int, [Substring]) throws -> Void) throws {
    let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
    guard let data else { throw ValidationError("cannot read '\(file)'") }
    let text = String(decoding: data, as: UTF8.self)
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = line.hasSuffix("\r") ? line.dropLast() : line
        if line.isEmpty { continue }
        try body(n + 1, line.split(separator: "\t", omittingEmptySubsequences: false))
    }
}

/// Parses an expiry: Unix seconds, Unix milliseconds (13+ digits), an ISO 8601 time
/// (2026-12-01T00:00:00Z), or `never` / empty (no expiry: nil inside).
func parseExpiry(_ text: Substring) -> Int64?? {
    if text.isEmpty || text == "never" { return .some(nil) }
    if text.allSatisfy(\.isNumber), let v = Int64(text) { return .some(text.count >= 13 ? v : v * 1000) }
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: String(text)) { return .some(Int64(date.timeIntervalSince1970 * 1000)) }
    return nil
}
