import Foundation
import Testing
import OnlineCFRuntime
import OnlineCFTestSupport

@Suite(.serialized) struct MetricsTests {
    /// A running job serves Prometheus text with its counters over real HTTP.
    @Test func runningJobServesMetrics() throws {
        let redis = try TestRedis()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["run", "--redis", redis.url, "--emit-interval", "200ms", "--metrics", "127.0.0.1:0", "--no-progress"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        input.fileHandleForWriting.write(Data("{\"user\":\"u1\",\"item\":\"a\"}\n{\"user\":\"u1\",\"item\":\"b\"}\nnot json\n".utf8))
        // The first stderr line names the metrics URL.
        var log = ""
        while !log.contains("/metrics\n") {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
        }
        let url = try #require(log.split(separator: "\n").first { $0.hasPrefix("metrics: ") }).dropFirst("metrics: ".count)
        Thread.sleep(forTimeInterval: 1.0)
        let body = try httpGet(String(url))
        #expect(body.contains("# HELP onlinecf_events_read_total"))
        #expect(body.contains("onlinecf_events_read_total 2"))
        #expect(body.contains("onlinecf_lines_malformed_total 1"))
        #expect(body.contains("onlinecf_freshness_seconds_count 2"))
        #expect(body.contains("onlinecf_kv_commands_total"))
        #expect(try httpGet(String(url).replacingOccurrences(of: "/metrics", with: "/healthz")) == "ok\n")
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// A plain blocking HTTP/1.1 GET over a socket (no client library involved).
    func httpGet(_ url: String) throws -> String {
        let rest = url.dropFirst("http://".count)
        let hostPort = rest.prefix { $0 != "/" }, path = String(rest.dropFirst(hostPort.count))
        let port = UInt16(hostPort.split(separator: ":")[1])!
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(connected == 0)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, request.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return "" }
        return String(text[split.upperBound...])
    }
}
