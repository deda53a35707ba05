import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFServe

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream events from stdin, a file or folder, a Redis Stream or a Kafka topic into the KV store, emitting fresh top-k lists every interval.",
        discussion: """
        Continues from the namespace's state in the KV store (events already applied are not \
        counted twice). Lists whose content changed are rewritten every --emit-interval and at \
        the end of input. SIGINT/SIGTERM stop reading, emit and commit, then exit 0.

        Sources (--source): - (stdin, the default); file:PATH, a file or a folder of files read \
        in name order from the position committed with the state, so a restart goes on exactly \
        where the committed state ends; redis-stream:KEY?group=G[&consumer=C][&min-idle=60s], a \
        Redis Stream on the job's KV store read through consumer group G (default consumer \
        onlinecf-NAMESPACE), one input line per entry in its field 'event' (in --format; inter \
        entries need --columns), acknowledged after the state holding it is committed; \
        kafka:BROKERS/TOPIC?group=G[&PROPERTY=VALUE...], every partition of a Kafka topic, one \
        input line per message value, read from the offsets committed with the state (field \
        source:kafka:TOPIC of the namespace's meta, e.g. p0=123,p1=456) and committed to group G \
        afterwards for monitoring; other PROPERTY=VALUE pairs are librdkafka settings. Without \
        --follow a file source ends at the end of its last file, a stream when a read finds no \
        new entry and a Kafka topic when every partition has reported its end.

        With a JOBFILE (YAML, see jobs/ and docs/job-files.md), the job's fields apply and options \
        given on the command line override them.
        """
    )

    @Argument(help: "A job file (jobs/*.yaml). Optional: options alone describe a job too.")
    var jobFile: String?

    @OptionGroup var kv: KVOptions
    @OptionGroup var writer: WriterOptions
    @OptionGroup var input: InputOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup(title: "u2i2i recall") var recall: RecallRunOptions

    @Option(name: .long, help: "How often changed lists are written: e.g. 1s, 500ms, 60s, 5m (at least 100ms; default: 60s).")
    var emitInterval: String?

    @Option(name: .long, help: "Recompute Swing exactly from the stored interaction sets this often (e.g. 10m, 1h); increments continue on top.")
    var swingRebuildEvery: String?

    @Option(name: .long, help: "Snapshot the state this often: a duration (e.g. 5m, 30s) or a count of new events (e.g. 500000); also at the end of input. A restart loads the snapshot and replays only the log after it, which is then deleted. 0: no snapshots (the whole log is kept and replayed at every start, and a restart may change model parameters). Default: 5m.")
    var checkpointEvery: String?

    @Option(name: .long, help: "Input: - (stdin; default), file:PATH (a file or folder, resumed at the committed position), redis-stream:KEY?group=G[&consumer=C][&min-idle=DURATION] or kafka:BROKERS/TOPIC?group=G[&PROPERTY=VALUE...] (librdkafka settings).")
    var source: String?

    @Flag(name: .long, help: "With a file, stream or Kafka source: keep waiting for appended lines, new files, new entries or new messages instead of ending.")
    var follow = false

    @Flag(name: .long, help: "Stdin: skip the lines of this input that an earlier run committed (pipe the same input again after a crash).")
    var resume = false

    @Option(name: .long, help: "Serve Prometheus metrics at http://HOST:PORT/metrics, e.g. 127.0.0.1:9464 (default: not served).")
    var metrics: String?

    @Option(name: .long, help: "Workers sharing this job and dividing its model (default: 1). Each reads the whole input (every partition of a kafka: topic), keeps the light state, and holds, applies and writes only the rows of the ids that hash to it. See docs/workers.md.")
    var workers: Int?

    @Option(name: .long, help: "This worker's number, 0 to --workers minus 1 (default: 0).")
    var worker: Int?

    @Flag(name: .long, inversion: .prefixedNo, help: "Progress line on stderr (default: when stderr is a terminal).")
    var progress: Bool = isTerminal(2)

    func run() throws {
        var cli = try jobSpec(kv, input, model)
        writer.apply(to: &cli)
        recall.apply(to: &cli)
        cli.emitInterval = emitInterval
        cli.metrics = metrics
        cli.swingRebuildEvery = swingRebuildEvery
        cli.checkpointEvery = checkpointEvery
        cli.source = source
        cli.workers = workers
        cli.worker = worker
        if follow { cli.follow = true }
        var job = try resolveJob(file: jobFile, overrides: cli)
        job.configuration.showProgress = progress
        job.configuration.resume = resume
        try runJob(job, fd: 0)
    }
}

struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute every list from a whole log file (a backfill) and write the same keys as run.",
        discussion: "Replaces the namespace's state with the file's: the result equals streaming the same file into an empty namespace (Swing exact). FILE may be - for stdin."
    )

    @OptionGroup var kv: KVOptions
    @OptionGroup var writer: WriterOptions
    @OptionGroup var input: InputOptions
    @OptionGroup var model: ModelOptions

    @OptionGroup(title: "u2i2i recall") var recall: RecallRunOptions

    @Argument(help: "The event log to read (- for stdin).")
    var file: String

    @Option(name: .long, help: "A job file whose fields apply (options given here override them).")
    var job: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "Progress line on stderr (default: when stderr is a terminal).")
    var progress: Bool = isTerminal(2)

    func run() throws {
        var cli = try jobSpec(kv, input, model)
        writer.apply(to: &cli)
        recall.apply(to: &cli)
        cli.mode = .batch
        var resolved = try resolveJob(file: job, overrides: cli)
        resolved.configuration.showProgress = progress
        resolved.configuration.source = .stdin  // FILE is the input
        let fd: Int32
        if file == "-" { fd = 0 } else {
            fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw ValidationError("cannot open '\(file)': \(String(cString: strerror(errno)))") }
        }
        defer { if fd != 0 { close(fd) } }
        try runJob(resolved, fd: fd)
    }
}

struct Rebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute Swing exactly from the interaction sets in the KV store and swap its lists in.",
        discussion: "Reads no input. Give the same model options (or job file) as the run that built the state; after it, streaming and batch lists agree."
    )
    @Argument(help: "A job file whose fields apply (optional).")
    var jobFile: String?
    @OptionGroup var kv: KVOptions
    @OptionGroup var writer: WriterOptions
    @OptionGroup var model: ModelOptions

    func run() throws {
        var cli = kv.spec
        writer.apply(to: &cli)
        model.apply(to: &cli)
        var job = try resolveJob(file: jobFile, overrides: cli)
        job.configuration.mode = .rebuild
        job.configuration.source = .stdin  // reads no input
        guard job.configuration.parameters.algorithms.contains(.swing) else {
            throw ValidationError("nothing to rebuild: the algorithms do not include swing")
        }
        try runJob(job, fd: 0)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a job file: print every error with its field path and line; exit 1 if any.",
        discussion: "Also checks that the job's Redis (kv.redis) answers."
    )
    @Argument(help: "The job file.") var jobFile: String

    func run() throws {
        do {
            let job = try JobFile.load(path: jobFile).resolve()
            if let url = job.location.url {
                let endpoint = try RedisEndpoint(url: url)
                guard isRedisAlive(endpoint: endpoint, timeout: .seconds(2)) else {
                    throw JobSpecError(issues: [.init(path: "kv.redis", line: nil, message: "\(endpoint.displayName) does not answer")])
                }
            }
            let c = job.configuration
            print("\(jobFile): ok — \(c.mode == .batch ? "batch" : "stream") job, algorithms \(c.parameters.algorithms.sorted().map(\.rawValue).joined(separator: ",")), k \(c.parameters.k), namespace \(job.keys.namespace), KV \(job.location.url ?? "private redis-server in \(job.location.stateDirectory)")")
        } catch let error as JobSpecError {
            for issue in error.issues { stderrLine("\(jobFile): \(issue)") }
            throw ExitCode(1)
        }
    }
}

/// What the command line's option groups say about a job.
func jobSpec(_ kv: KVOptions, _ input: InputOptions, _ model: ModelOptions) throws -> JobSpec {
    var spec = kv.spec
    try input.apply(to: &spec)
    model.apply(to: &spec)
    return spec
}

/// The job file (if any) with the command line laid over it, resolved and validated.
func resolveJob(file: String?, overrides: JobSpec) throws -> JobSpec.Resolved {
    do {
        let base = try file.map { path throws(JobSpecError) in try JobFile.load(path: path) } ?? JobSpec()
        return try base.overriding(with: overrides).resolve()
    } catch {
        let prefix = file.map { "\($0): " } ?? ""
        throw ValidationError(error.issues.map { prefix + $0.description }.joined(separator: "\n"))
    }
}

/// Runs a job to its end, then exits the process at once: a model can hold gigabytes in
/// millions of allocations, and freeing them one by one would keep a finished (or
/// stopped) job's process alive for seconds; the system reclaims its memory whole.
func runJob(_ job: JobSpec.Resolved, fd: Int32) throws -> Never {
    let finished = try runJobKeepingModel(job, fd: fd)
    fflush(nil)  // every C stream
    withExtendedLifetime(finished) {}
    exit(0)
}

/// Runs a job; returns it (its model still allocated).
private func runJobKeepingModel(_ job: JobSpec.Resolved, fd: Int32) throws -> StreamJob {
    let shutdown = ShutdownSignal()
    return try reportingErrors {
        let (handle, store) = try openStore(job, shutdown: shutdown, retryForever: true)
        defer { handle.close() }
        try store.checkEvictionPolicy()
        let lease = try WriterLease.acquire(client: store.client, keys: job.keys, worker: store.worker, period: job.configuration.leasePeriod)
        defer { lease.release(client: store.client) }
        let metrics = JobMetrics()
        let server = try job.configuration.metricsAddress.map { try MetricsEndpoint(address: $0, text: { metrics.text() }) }
        defer { server?.stop() }
        if let server { stderrLine("metrics: \(server.url)") }
        let streamJob = try StreamJob(configuration: job.configuration, store: store, lease: lease, shutdown: shutdown, metrics: metrics)
        let source = try EventSources.make(job.configuration.source, follow: job.configuration.follow, endpoint: store.client.endpoint,
                                           namespace: job.keys.namespace, shutdown: shutdown, stdinDescriptor: fd)
        let summary = try streamJob.run(source: source)
        stderrLine(summary.text)
        return streamJob
    }
}
