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
        // Hostile requests: 4xx, never 5xx, and the endpoint goes on answering.
        let port = Int(url.split(separator: ":").last!.prefix { $0.isNumber })!
        let id = String(repeating: "x", count: 100_000), query = String(repeating: "a", count: 1 << 20)
        for target in ["/metrics%ZZ", "/%", "/\(id)", "/metrics?\(query)"] {
            let reply = try RawHTTP.exchange(port: port, "GET \(target) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let status = Int(reply.split(separator: " ").dropFirst().first ?? "") ?? 0
            #expect((400..<500).contains(status), "\(target.prefix(40))… (\(target.utf8.count) bytes): \(reply.prefix(80))")
        }
        #expect(try httpGet(url).contains("onlinecf_events_read_total 2"))
        #expect(job.finish() == 0, "\(job.stderr)")
    }
}
