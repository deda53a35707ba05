import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFRuntime

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream events from stdin into the KV store, emitting fresh top-k lists every interval.",
        discussion: """
        Continues from the namespace's state in the KV store (events already applied are not \
        counted twice). Lists whose content changed are rewritten every --emit-interval and at \
        the end of input. SIGINT/SIGTERM stop reading, emit and commit, then exit 0.
        """
    )

    @OptionGroup var kv: KVOptions
    @OptionGroup var input: InputOptions
    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "How often changed lists are written: e.g. 1s, 500ms, 60s, 5m (at least 100ms).")
    var emitInterval: String = "60s"

    @Option(name: .long, help: "Recompute Swing exactly from the stored interaction sets this often (e.g. 10m, 1h); increments continue on top.")
    var swingRebuildEvery: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "Progress line on stderr (default: when stderr is a terminal).")
    var progress: Bool = isTerminal(2)

    func run() throws {
        var rebuildEvery: Duration?
        if let text = swingRebuildEvery {
            guard let d = DurationText.parse(text), d >= .seconds(1) else {
                throw ValidationError("--swing-rebuild-every '\(text)' is not a duration of at least 1s (examples: 10m, 1h)")
            }
            rebuildEvery = d
        }
        guard let interval = DurationText.parse(emitInterval), interval >= .milliseconds(100) else {
            throw ValidationError("--emit-interval '\(emitInterval)' is not a duration of at least 100ms (examples: 1s, 500ms, 60s, 5m)")
        }
        var configuration = JobConfiguration()
        configuration.mode = .stream
        configuration.format = input.format
        configuration.columns = try input.columnMap()
        configuration.parameters = try model.parameters()
        configuration.emitInterval = interval
        configuration.swingRebuildEvery = rebuildEvery
        configuration.deadLetterPath = input.deadLetter
        configuration.showProgress = progress
        try runJob(configuration, kv: kv, fd: 0)
    }
}

struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute every list from a whole log file (a backfill) and write the same keys as run.",
        discussion: "Replaces the namespace's state with the file's: the result equals streaming the same file into an empty namespace. FILE may be - for stdin."
    )

    @OptionGroup var kv: KVOptions
    @OptionGroup var input: InputOptions
    @OptionGroup var model: ModelOptions

    @Argument(help: "The event log to read (- for stdin).")
    var file: String

    @Flag(name: .long, inversion: .prefixedNo, help: "Progress line on stderr (default: when stderr is a terminal).")
    var progress: Bool = isTerminal(2)

    func run() throws {
        var configuration = JobConfiguration()
        configuration.mode = .batch
        configuration.format = input.format
        configuration.columns = try input.columnMap()
        configuration.parameters = try model.parameters()
        configuration.deadLetterPath = input.deadLetter
        configuration.showProgress = progress
        let fd: Int32
        if file == "-" { fd = 0 } else {
            fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw ValidationError("cannot open '\(file)': \(String(cString: strerror(errno)))") }
        }
        defer { if fd != 0 { close(fd) } }
        try runJob(configuration, kv: kv, fd: fd)
    }
}

struct Rebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute Swing exactly from the interaction sets in the KV store and swap its lists in.",
        discussion: "Reads no input. Give the same model options as the run that built the state (after it, streaming and batch lists agree)."
    )
    @OptionGroup var kv: KVOptions
    @OptionGroup var model: ModelOptions

    func run() throws {
        var configuration = JobConfiguration()
        configuration.mode = .rebuild
        configuration.parameters = try model.parameters()
        guard configuration.parameters.algorithms.contains(.swing) else {
            throw ValidationError("nothing to rebuild: --algos does not include swing")
        }
        try runJob(configuration, kv: kv, fd: 0)
    }
}

func runJob(_ configuration: JobConfiguration, kv: KVOptions, fd: Int32) throws {
    let shutdown = ShutdownSignal()
    try reportingErrors {
        let (handle, store) = try kv.open(shutdown: shutdown, retryForever: true)
        defer { handle.close() }
        let job = try StreamJob(configuration: configuration, store: store, shutdown: shutdown)
        let summary = try job.run(reader: LineReader(fileDescriptor: fd))
        stderrLine(summary.text)
    }
}
