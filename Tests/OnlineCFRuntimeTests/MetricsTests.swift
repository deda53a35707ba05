import Foundation
import Testing
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct MetricsTests {
    /// A running job serves Prometheus text with its counters over real HTTP.
    @Test func runningJobServesMetrics() throws {
        let redis = try TestRedis()
        let job = try RunningJob(["run", "--redis", redis.url, "--emit-interval", "200ms", "--metrics", "127.0.0.1:0", "--no-progress"])
        job.write(Array("{\"user\":\"u1\",\"item\":\"a\"}\n{\"user\":\"u1\",\"item\":\"b\"}\nnot json\n".utf8))
        let url = try job.metricsURL()
        var body = ""
        try waitUntil("both events' lists are written") {
            body = try httpGet(url)
            return body.contains("onlinecf_freshness_seconds_count 2")
        }
        #expect(body.contains("# HELP onlinecf_events_read_total"))
        #expect(body.contains("onlinecf_events_read_total 2"))
        #expect(body.contains("onlinecf_lines_malformed_total 1"))
        #expect(body.contains("onlinecf_kv_commands_total"))
        #expect(body.contains("onlinecf_kv_out_of_memory_refusals_total 0"))
        #expect(try httpGet(url.replacingOccurrences(of: "/metrics", with: "/healthz")) == "ok\n")
        #expect(job.finish() == 0, "\(job.stderr)")
    }
}
