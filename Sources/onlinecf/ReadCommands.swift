import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFRuntime

extension Algorithm: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every list of one algorithm as TSV: id, neighbour, score.",
        discussion: "Ids ascending (byte-wise), then scores descending with ties by neighbour id; scores print so they parse back to the same double."
    )
    @OptionGroup var kv: KVOptions
    @Option(name: .long, help: "The algorithm: itemcf:cooccurrence, itemcf:cosine, itemcf:jaccard, itemcf:lift, u2u:cosine or a2a:cosine.")
    var algo: Algorithm

    func run() throws {
        try reportingErrors {
            let (handle, store) = try kv.open()
            defer { handle.close() }
            let ids = try store.listIds(algo)
            var out = StandardOutput()
            var start = 0
            while start < ids.count {
                let slice = Array(ids[start..<min(ids.count, start + 4096)])
                for (id, list) in zip(slice, try store.readLists(algo, ids: slice)) {
                    let escapedId = TSVEscaping.escape(id)
                    for (neighbour, score) in list { out.write("\(escapedId)\t\(TSVEscaping.escape(neighbour))\t\(score)\n") }
                }
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
            let list = try store.readLists(algorithm, ids: [id], limit: k)[0]
            if list.isEmpty {
                stderrLine("no \(algorithm.rawValue) list for '\(id)' in namespace '\(kv.namespace)'")
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
            let n = try store.reset()
            stderrLine("deleted \(n) keys of namespace '\(kv.namespace)'")
        }
    }
}

struct Items: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage the item table (item → author).", subcommands: [Load.self])

    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a TSV file of 'item<TAB>author' lines into the item table.",
            discussion: "Jobs started afterwards take an item's author from this table when its events carry none. Malformed lines are reported with their line number and skipped."
        )
        @OptionGroup var kv: KVOptions
        @Argument(help: "The TSV file (- for stdin).") var file: String

        func run() throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read '\(file)'") }
                text = String(decoding: data, as: UTF8.self)
            }
            var pairs: [(String, String)] = []
            var bad = 0
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = line.hasSuffix("\r") ? line.dropLast() : line
                if line.isEmpty { continue }
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                if n == 0, fields.first == "item" { continue }
                guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty,
                      fields[0].utf8.count <= 512, fields[1].utf8.count <= 512 else {
                    bad += 1
                    stderrLine("line \(n + 1): expected 'item<TAB>author' with non-empty ids of at most 512 bytes")
                    continue
                }
                pairs.append((String(fields[0]), String(fields[1])))
            }
            try reportingErrors {
                let (handle, store) = try kv.open()
                defer { handle.close() }
                try store.storeItemAuthors(pairs)
            }
            stderrLine("loaded \(pairs.count) items, \(bad) malformed lines")
        }
    }
}

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

    func run() throws {
        guard events >= 0, users >= 1, items >= 1 else { throw ValidationError("--events must be ≥ 0, --users and --items ≥ 1") }
        if let rate, !(rate > 0) { throw ValidationError("--rate must be a positive number of events per second") }
        var configuration = GeneratorConfiguration(events: events, users: users, items: items, seed: seed)
        if let authors { configuration.authors = authors }
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
