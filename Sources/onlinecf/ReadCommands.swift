import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFRuntime

extension Algorithm: ExpressibleByArgument {}

extension ListFamily: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "recent": self = .recent
        case "u2i2i": self = .u2i2i
        case "popular": self = .popular
        default:
            guard let a = Algorithm(rawValue: argument) else { return nil }
            self = .algorithm(a)
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every list of one algorithm as TSV: id, neighbour, score.",
        discussion: "Ids ascending (byte-wise), then scores descending with ties by neighbour id; scores print so they parse back to the same double."
    )
    @OptionGroup var kv: KVOptions
    /// One list's lines: id TAB neighbour TAB score.
    static func append(id: String, list: [(String, Double)], to text: inout [UInt8]) {
        let escapedId = TSVEscaping.escape(id).utf8
        for (neighbour, score) in list {
            text.append(contentsOf: escapedId)
            text.append(0x09)
            text.append(contentsOf: TSVEscaping.escape(neighbour).utf8)
            text.append(0x09)
            text.append(contentsOf: score.description.utf8)
            text.append(0x0A)
        }
    }

    @Option(name: .long, help: "The lists: swing, itemcf:cooccurrence, itemcf:cosine, itemcf:jaccard, itemcf:lift, u2u:cosine, a2a:cosine, or the recall outputs recent and u2i2i.")
    var algo: ListFamily

    func run() throws {
        try reportingErrors {
            let (handle, store) = try kv.open()
            defer { handle.close() }
            let ids = try store.listIds(algo)
            var out = StandardOutput()
            var start = 0
            while start < ids.count {
                let slice = Array(ids[start..<min(ids.count, start + 4096)])
                let lists = try store.readLists(algo, ids: slice)
                // Lines formatted on every core, written in order.
                let blocks = ParallelMap.map(count: (slice.count + 63) / 64, threads: JobConfiguration.defaultThreads, block: 1) { b in
                    var text: [UInt8] = []
                    for n in (b * 64)..<min(slice.count, b * 64 + 64) { Self.append(id: slice[n], list: lists[n], to: &text) }
                    return text
                }
                for block in blocks { out.write(bytes: block) }
                start += 4096
            }
            out.flush()
        }
    }
}

/// Prints one list.
struct ListQuery: ParsableArguments {
    @OptionGroup var kv: KVOptions
    @Option(name: .short, help: "How many neighbours to print (at most the emitted list length).")
    var k: Int = 50

    func print(_ algorithm: Algorithm, id: String) throws {
        guard k >= 1 else { throw ValidationError("-k must be at least 1") }
        try reportingErrors {
            let (handle, store) = try kv.open()
            defer { handle.close() }
            var list = try store.readLists(algorithm, ids: [id], limit: algorithm.kind == .i2i ? 0 : k)[0]
            if algorithm.kind == .i2i {
                // Hidden, deleted and expired items are filtered here too: a running job
                // removes them at its next emission, but this answers now.
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let blocked = try store.blockedAmong([id] + list.map(\.0), nowMillis: now)
                list = blocked.contains(id) ? [] : Array(list.filter { !blocked.contains($0.0) }.prefix(k))
            }
            if list.isEmpty {
                stderrLine("no \(algorithm.rawValue) list for '\(id)' in namespace '\(kv.namespaceName)'")
                return
            }
            var out = StandardOutput()
            for (neighbour, score) in list { out.write("\(TSVEscaping.escape(neighbour))\t\(score)\n") }
            out.flush()
        }
    }
}

struct I2I: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "i2i", abstract: "Print an item's neighbours: neighbour TAB score, best first.")
    @Argument(help: "The item id.") var item: String
    @Option(name: .long, help: "The algorithm: itemcf:cooccurrence, itemcf:cosine, itemcf:jaccard or itemcf:lift.")
    var algo: Algorithm = .itemcfCosine
    @OptionGroup var query: ListQuery
    func validate() throws {
        guard algo.kind == .i2i else { throw ValidationError("--algo \(algo.rawValue) is not an item-to-item algorithm") }
    }
    func run() throws { try query.print(algo, id: item) }
}

struct U2U: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "u2u", abstract: "Print a user's most similar users (u2u:cosine).")
    @Argument(help: "The user id.") var user: String
    @OptionGroup var query: ListQuery
    func run() throws { try query.print(.u2uCosine, id: user) }
}

struct A2A: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "a2a", abstract: "Print an author's most similar authors (a2a:cosine).")
    @Argument(help: "The author id.") var author: String
    @OptionGroup var query: ListQuery
    func run() throws { try query.print(.a2aCosine, id: author) }
}

struct Reset: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete every key of the namespace (state, lists, item table).")
    @OptionGroup var kv: KVOptions
    func run() throws {
        try reportingErrors {
            let (handle, store) = try kv.open()
            defer { handle.close() }
            let live = try store.leases().filter { !($0.holder?.isGoneFromThisHost ?? false) }
            if !live.isEmpty {
                throw ValidationError("namespace '\(kv.namespaceName)' is being written: " + live.map { "worker \($0.worker) by \($0.holder?.description ?? $0.value)" }.joined(separator: "; ") + ". Stop those processes first ('onlinecf status' shows them).")
            }
            let n = try store.reset(keepingLeases: false)  // none is live: only gone processes' are left
            stderrLine("deleted \(n) keys of namespace '\(kv.namespaceName)'")
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show who writes the namespace (each worker's writer lease) and how far its state has come.",
        discussion: "One line per worker that has a lease or a state: holder (pid, host, start), when the lease lapses unless renewed, committed log chunks and events, emitted chunks, and the current snapshot (its size, the events it holds, when it was taken; a restart loads it and replays the log after it). Exit 0 either way.")
    @OptionGroup var kv: KVOptions
    func run() throws {
        try reportingErrors {
            let (handle, store) = try kv.open()
            defer { handle.close() }
            let leases = try store.leases()
            var workers = Set(leases.map(\.worker))
            var metas: [[UInt8]] = []
            try store.client.scanKeys(matching: store.keys.metaPattern) { metas += $0 }
            let prefix = "\(kv.namespaceName):{\(kv.namespaceName)/"
            for key in metas {
                let name = String(decoding: key, as: UTF8.self)
                if name.hasPrefix(prefix), let w = Int(name.dropFirst(prefix.count).prefix { $0 != "}" }) { workers.insert(w) }
            }
            guard !workers.isEmpty else {
                print("namespace '\(kv.namespaceName)': no state and no writer")
                return
            }
            print("worker\twriter\tlease lapses in\tlog chunks\tevents committed\temitted chunks\tsnapshot")
            for worker in workers.sorted() {
                let meta = try store.loadMeta(worker: worker)
                var writer = "none", lapses = "-"
                if let lease = leases.first(where: { $0.worker == worker }) {
                    writer = lease.holder?.description ?? lease.value
                    if lease.holder?.isGoneFromThisHost == true { writer += " (no longer running)" }
                    lapses = lease.lapsesInMillis >= 0 ? String(format: "%.1f s", Double(lease.lapsesInMillis) / 1000) : "never"
                }
                var snapshot = "none"
                if let s = meta.snapshot {
                    let taken = Date(timeIntervalSince1970: Double(s.atMillis) / 1000).formatted(.iso8601)
                    snapshot = String(format: "%.1f MiB, ", Double(s.bytes) / 1_048_576) + "\(s.events) events, taken \(taken); \(meta.logChunks - s.logChunk) log chunks after it"
                }
                print("\(worker)\t\(writer)\t\(lapses)\t\(meta.logChunks)\t\(meta.eventsCommitted)\t\(meta.emittedChunks)\t\(snapshot)")
            }
        }
    }
}

struct Items: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage the item table: author, moderation status, expiry.", subcommands: [Load.self, SetCommand.self])

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a TSV file of 'item<TAB>author[<TAB>status[<TAB>expires]]' lines into the item table.",
            discussion: """
            Jobs take an item's author from this table when its events carry none (an empty author \
            column leaves it as it is). status: active, hidden or deleted; expires: Unix seconds, \
            Unix milliseconds, an ISO 8601 time (2026-12-01T00:00:00Z) or never. Hidden, deleted and \
            expired items leave every list at the next emission of a running job, and are never \
            served. Malformed lines are reported with their line number and skipped.
            """
        )
        @OptionGroup var kv: KVOptions
        @Argument(help: "The TSV file (- for stdin).") var file: String

        func run() throws {
            var updates: [StateStore.ItemUpdate] = []
            var bad = 0
            try forEachTSVLine(file) { n, fields in
                if n == 1, fields.first == "item" { return }
                func reject(_ why: String) { bad += 1; stderrLine("line \(n): \(why)") }
                guard fields.count >= 2, !fields[0].isEmpty, fields[0].utf8.count <= 512, fields[1].utf8.count <= 512 else {
                    return reject("expected 'item<TAB>author[<TAB>status[<TAB>expires]]' with a non-empty item id and ids of at most 512 bytes")
                }
                var update = StateStore.ItemUpdate(item: String(fields[0]), author: fields[1].isEmpty ? nil : String(fields[1]))
                if fields.count >= 3, !fields[2].isEmpty {
                    guard let status = ItemStatus(rawValue: String(fields[2])) else { return reject("status '\(fields[2])' is not active, hidden or deleted") }
                    update.status = status
                }
                if fields.count >= 4 {
                    guard let expiry = parseExpiry(fields[3]) else { return reject("expires '\(fields[3])' is not Unix seconds, milliseconds, ISO 8601 or never") }
                    update.expiresMillis = expiry
                }
                updates.append(update)
            }
            try reportingErrors {
                let (handle, store) = try kv.open()
                defer { handle.close() }
                try store.setItems(updates)
            }
            stderrLine("loaded \(updates.count) items, \(bad) malformed lines")
        }
    }

    struct SetCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change one item's status or expiry.",
            discussion: "A running job applies the change at its next emission: the item leaves (or returns to) every list. Serving commands apply it at once."
        )
        @OptionGroup var kv: KVOptions
        @Argument(help: "The item id.") var item: String
        @Option(name: .long, help: "active, hidden or deleted.") var status: ItemStatus?
        @Option(name: .long, help: "Expiry: Unix seconds, Unix milliseconds, ISO 8601 (2026-12-01T00:00:00Z) or never.") var expires: String?

        func validate() throws {
            if status == nil && expires == nil { throw ValidationError("give --status and/or --expires") }
            if let expires, parseExpiry(Substring(expires)) == nil { throw ValidationError("--expires '\(expires)' is not Unix seconds, milliseconds, ISO 8601 or never") }
        }

        func run() throws {
            try reportingErrors {
                let (handle, store) = try kv.open()
                defer { handle.close() }
                try store.setItems([StateStore.ItemUpdate(item: item, status: status, expiresMillis: expires.map { parseExpiry(Substring($0))! })])
            }
        }
    }
}

extension ItemStatus: ExpressibleByArgument {}

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write seeded synthetic events (JSON Lines) to stdout.",
        discussion: "Zipf item popularity, heavy-tailed user activity, authors, actions and non-decreasing timestamps. The same seed gives the same events on every machine."
    )
    @Option(name: .long, help: "Number of events.") var events: Int = 100_000
    @Option(name: .long, help: "Number of users.") var users: Int = 10_000
    @Option(name: .long, help: "Number of items.") var items: Int = 5_000
    @Option(name: .long, help: "Number of authors (default: items / 20).") var authors: Int?
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 42
    @Option(name: .long, help: "Pace the output at this many events per second (default: as fast as possible), e.g. to measure freshness.")
    var rate: Double?
    @Flag(name: .long, help: "A feed whose items and users keep arriving: --items and --users are the catalogue and user base at the start; new ones arrive at --new-items-per-day and --new-users-per-day, each event's item is chosen by age (median --exposure-half-life) then by popularity within its hour, and events follow each other at --events-per-day.")
    var arrivals = false
    @Option(name: .long, help: "With --arrivals: items published per simulated day.") var newItemsPerDay: Int = 20_000
    @Option(name: .long, help: "With --arrivals: users joining per simulated day.") var newUsersPerDay: Int = 20_000
    @Option(name: .long, help: "With --arrivals: half of all exposure goes to items younger than this (e.g. 1d, 12h).") var exposureHalfLife: String = "1d"
    @Option(name: .long, help: "With --arrivals: events per simulated day (sets the mean gap between timestamps).") var eventsPerDay: Int = 1_000_000

    func run() throws {
        guard events >= 0, users >= 1, items >= 1 else { throw ValidationError("--events must be ≥ 0, --users and --items ≥ 1") }
        if let rate, !(rate > 0) { throw ValidationError("--rate must be a positive number of events per second") }
        var configuration = GeneratorConfiguration(events: events, users: users, items: items, seed: seed)
        if let authors { configuration.authors = authors }
        if arrivals {
            guard let halfLife = DurationText.parse(exposureHalfLife), halfLife > .zero else {
                throw ValidationError("--exposure-half-life must be a positive duration such as 1d or 12h")
            }
            guard eventsPerDay >= 1 else { throw ValidationError("--events-per-day must be ≥ 1") }
            configuration.arrivals = .init(newItemsPerDay: newItemsPerDay, newUsersPerDay: newUsersPerDay,
                                           exposureHalfLifeMillis: halfLife.milliseconds)
            configuration.meanGapMillis = 86_400_000 / Double(eventsPerDay)
        }
        var generator: EventGenerator
        do { generator = try EventGenerator(configuration: configuration) } catch { throw ValidationError("\(error)") }
        var out = StandardOutput()
        var buffer: [UInt8] = []
        let clock = ContinuousClock()
        let start = clock.now
        var written = 0
        let step = rate.map { max(1, Int($0 / 100)) } ?? Int.max
        while let event = generator.next() {
            EventGenerator.appendJSONLine(event, to: &buffer)
            written += 1
            if buffer.count >= 1 << 16 || written % step == 0 {
                out.write(bytes: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
            if let rate, written % step == 0 {
                out.flush()
                let due = start + .milliseconds(Int64(Double(written) / rate * 1000))
                if due > clock.now { Thread.sleep(forTimeInterval: (due - clock.now).timeInterval) }
            }
        }
        out.write(bytes: buffer)
        out.flush()
    }
}

extension Duration {
    var timeInterval: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
