import Prometheus

/// The job's Prometheus metrics. Every job has them; they are served over HTTP only when
/// a metrics address is given (`MetricsEndpoint` of OnlineCFServe). Names are a public interface
/// (docs/metrics.md).
public final class JobMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let linesRead: Counter
    let eventsRead: Counter
    let eventsApplied: Counter
    let linesMalformed: Counter
    let kvCommands: Counter
    let listsWritten: Counter
    let emissions: Counter
    let commitSeconds: DurationHistogram
    let emissionSeconds: DurationHistogram
    let freshnessSeconds: DurationHistogram
    let lastCommit: Gauge
    let logChunks: Gauge
    let sourceLag: Gauge
    let eventsHotUser: Counter
    let eventsBeforeAdmission: Counter
    let kvOutOfMemory: Counter
    let checkpointSeconds: DurationHistogram
    let snapshotBytes: Gauge
    let swingRowsRefreshed: Counter
    let swingRowsWaiting: Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        linesRead = registry.makeCounter(descriptor: Self.name("lines_read", "total", "Input lines read."))
        eventsRead = registry.makeCounter(descriptor: Self.name("events_read", "total", "Well-formed events read."))
        eventsApplied = registry.makeCounter(descriptor: Self.name("events_applied", "total", "Events that changed the state (new user-item pairs)."))
        linesMalformed = registry.makeCounter(descriptor: Self.name("lines_malformed", "total", "Malformed input lines (reported, dead-lettered, skipped)."))
        kvCommands = registry.makeCounter(descriptor: Self.name("kv_commands", "total", "Commands sent to the KV store, counted by the client."))
        listsWritten = registry.makeCounter(descriptor: Self.name("lists_written", "total", "Top-k lists written (replaced or deleted)."))
        emissions = registry.makeCounter(descriptor: Self.name("emissions", "total", "Emissions written."))
        eventsHotUser = registry.makeCounter(descriptor: Self.name("events_hot_user", "total", "Events left out by the hot-user guard (a user over its limit in the window)."))
        eventsBeforeAdmission = registry.makeCounter(descriptor: Self.name("events_before_admission", "total", "Events left out because their user or item was not admitted yet (--admit-after)."))
        kvOutOfMemory = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "onlinecf", subsystem: "kv", metricName: "out_of_memory_refusals", unitName: "total",
            helpText: "Writes the KV store refused with -OOM (maxmemory reached); each was resent after a back-off wait."))
        let seconds: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                   .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300)]
        commitSeconds = registry.makeDurationHistogram(descriptor: Self.name("commit", "seconds", "Time to commit one event-log chunk."), buckets: seconds)
        emissionSeconds = registry.makeDurationHistogram(descriptor: Self.name("emission", "seconds", "Time from the start of an emission to its last list written."), buckets: seconds)
        freshnessSeconds = registry.makeDurationHistogram(descriptor: Self.name("freshness", "seconds", "Per event: time from reading it to its lists being written."), buckets: seconds)
        checkpointSeconds = registry.makeDurationHistogram(descriptor: Self.name("checkpoint", "seconds", "Time to take one snapshot (encode and write; reading waits meanwhile)."), buckets: seconds)
        snapshotBytes = registry.makeGauge(descriptor: Self.name("snapshot", "bytes", "Size of the last snapshot written."))
        swingRowsRefreshed = registry.makeCounter(descriptor: Self.name("swing_refreshed_rows", "total", "Swing rows recomputed exactly at emissions."))
        swingRowsWaiting = registry.makeGauge(descriptor: Self.name("swing_waiting", "rows", "Swing rows changed since their last exact recomputation and not recomputed yet (their lists carry increments)."))
        lastCommit = registry.makeGauge(descriptor: Self.name("last_commit_timestamp", "seconds", "Unix time of the last committed chunk (checkpoint age = now - this)."))
        logChunks = registry.makeGauge(descriptor: Self.name("log", "chunks", "Chunks in the namespace's event log."))
        sourceLag = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "onlinecf", subsystem: "source", metricName: "lag", unitName: "messages",
            helpText: "Messages in the source after the job's position (Kafka: high watermarks minus position; 0 for other sources)."))
    }

    /// `onlinecf_{base}_{unit}`, with its help text.
    private static func name(_ base: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "onlinecf", metricName: base, unitName: unit, helpText: help)
    }

    /// The registry in Prometheus' text format.
    public func text() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
