import Prometheus

/// The job's Prometheus metrics. Every job has them; they are served over HTTP only when
/// a metrics address is given (``MetricsServer``). Names are a public interface
/// (README, "Metrics").
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
    let peerEventsApplied: Counter
    let eventsOfPeers: Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        linesRead = registry.makeCounter(name: "onlinecf_lines_read_total", help: "Input lines read.")
        eventsRead = registry.makeCounter(name: "onlinecf_events_read_total", help: "Well-formed events read.")
        eventsApplied = registry.makeCounter(name: "onlinecf_events_applied_total", help: "Events that changed the state (new user-item pairs).")
        linesMalformed = registry.makeCounter(name: "onlinecf_lines_malformed_total", help: "Malformed input lines (reported, dead-lettered, skipped).")
        kvCommands = registry.makeCounter(name: "onlinecf_kv_commands_total", help: "Commands sent to the KV store, counted by the client.")
        listsWritten = registry.makeCounter(name: "onlinecf_lists_written_total", help: "Top-k lists written (replaced or deleted).")
        emissions = registry.makeCounter(name: "onlinecf_emissions_total", help: "Emissions written.")
        eventsHotUser = registry.makeCounter(name: "onlinecf_events_hot_user_total", help: "Events left out by the hot-user guard (a user over its limit in the window).")
        eventsBeforeAdmission = registry.makeCounter(name: "onlinecf_events_before_admission_total", help: "Events left out because their user or item was not admitted yet (--admit-after).")
        peerEventsApplied = registry.makeCounter(name: "onlinecf_peer_events_applied_total", help: "Several workers: events of the peers' committed log chunks applied here.")
        eventsOfPeers = registry.makeCounter(name: "onlinecf_events_of_peers_total", help: "Several workers: events read whose user another worker owns (left to it).")
        let seconds: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                   .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300)]
        commitSeconds = registry.makeDurationHistogram(name: "onlinecf_commit_seconds", buckets: seconds, help: "Time to commit one event-log chunk.")
        emissionSeconds = registry.makeDurationHistogram(name: "onlinecf_emission_seconds", buckets: seconds, help: "Time from the start of an emission to its last list written.")
        freshnessSeconds = registry.makeDurationHistogram(name: "onlinecf_freshness_seconds", buckets: seconds, help: "Per event: time from reading it to its lists being written.")
        lastCommit = registry.makeGauge(name: "onlinecf_last_commit_timestamp_seconds", help: "Unix time of the last committed chunk (checkpoint age = now - this).")
        logChunks = registry.makeGauge(name: "onlinecf_log_chunks", help: "Chunks in the namespace's event log.")
        sourceLag = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "onlinecf", subsystem: "source", metricName: "lag", unitName: "messages",
            helpText: "Messages in the source after the job's position (Kafka: high watermarks minus position; 0 for other sources)."))
    }

    /// The registry in Prometheus' text format.
    public func text() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
