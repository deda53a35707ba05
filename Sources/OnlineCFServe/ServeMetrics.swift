import Prometheus

/// The metrics of `onlinecf serve` (docs/http-api.md): requests by endpoint and
/// status, request latency by endpoint, and the connection pool's load.
public final class ServeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private static var requestsName: MetricNameDescriptor { MetricNameDescriptor(namespace: "onlinecf", subsystem: "http", metricName: "requests", unitName: "total",
                                                    helpText: "HTTP requests answered, by endpoint and status code.") }
    private static var latencyName: MetricNameDescriptor { MetricNameDescriptor(namespace: "onlinecf", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                                                   helpText: "Time from a request's head to its response, by endpoint.") }
    static let buckets: [Duration] = [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                                      .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                      .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
    private let busy: Gauge
    private let waiting: Gauge
    private let connections: Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), poolSize: Int) {
        self.registry = registry
        busy = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "onlinecf", subsystem: "http", metricName: "kv_connections_busy",
                                                                   unitName: "", helpText: "KV connections serving a request right now."))
        waiting = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "onlinecf", subsystem: "http", metricName: "requests_waiting",
                                                                      unitName: "", helpText: "Requests waiting for a free KV connection."))
        connections = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "onlinecf", subsystem: "http", metricName: "kv_connections",
                                                                          unitName: "", helpText: "KV connections in the pool (--connections)."))
        connections.set(Double(poolSize))
        // Every endpoint's latency series exists from the start, so a scrape sees zeros.
        for endpoint in ServeEndpoint.allCases { _ = histogram(endpoint) }
    }

    private func histogram(_ endpoint: ServeEndpoint) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: Self.latencyName, labels: [("endpoint", endpoint.rawValue)], buckets: Self.buckets)
    }

    /// Counts one answered request.
    public func record(endpoint: ServeEndpoint, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requestsName, labels: [("endpoint", endpoint.rawValue), ("status", String(status))]).increment()
        histogram(endpoint).record(duration)
    }

    /// The registry in Prometheus' text format, with the pool's load as of now.
    public func text(poolLoad: (busy: Int, waiting: Int)) -> [UInt8] {
        busy.set(Double(poolLoad.busy))
        waiting.set(Double(poolLoad.waiting))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
