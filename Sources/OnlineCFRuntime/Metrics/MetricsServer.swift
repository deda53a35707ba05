import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Serves `GET /metrics` (Prometheus text) and `GET /healthz` over HTTP/1.1 on one
/// thread, one short connection at a time: enough for a scraper, and nothing else to
/// configure. Binds to 127.0.0.1 unless told otherwise.
public final class MetricsServer: Sendable {
    public let port: Int
    public let host: String
    private let socket: Int32

    /// `http://host:port/metrics`.
    public var url: String { "http://\(host):\(port)/metrics" }

    /// Listens on `address` (`host:port` or `:port`; port 0 picks a free one).
    public init(address: String, metrics: JobMetrics) throws {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let requested = Int(parts[1]), (0...65535).contains(requested) else {
            throw RuntimeError("metrics address '\(address)' is not host:port (example: 127.0.0.1:9464)")
        }
        let host = parts[0].isEmpty ? "127.0.0.1" : String(parts[0])
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("metrics: cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(requested).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd); throw RuntimeError("metrics: '\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno)); close(fd)
            throw RuntimeError("metrics: cannot listen on \(address): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: actual.sin_port))
        self.host = host
        socket = fd
        let thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { if errno == EINTR { continue } else { return } }
                MetricsServer.serve(client, metrics: metrics)
                close(client)
            }
        }
        thread.name = "onlinecf-metrics"
        thread.start()
    }

    /// Stops listening.
    public func stop() { shutdown(socket, Int32(SHUT_RDWR)); close(socket) }

    private static func serve(_ client: Int32, metrics: JobMetrics) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var complete = false
        while request.count < 16_384 {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, 4096, 0) }
            if n <= 0 { break }
            request += chunk[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { complete = true; break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let fields = line.split(separator: " ")
        let (status, type, body): (String, String, [UInt8])
        if !complete && request.count >= 16_384 {
            // A head over 16 KiB: its request line alone (414) or its header fields (431).
            let lineEnded = request.contains(10)
            (status, type, body) = (lineEnded ? "431 Request Header Fields Too Large" : "414 URI Too Long", "text/plain; charset=utf-8",
                                    Array("request head over 16 KiB; try GET /metrics or GET /healthz\n".utf8))
        } else if fields.count >= 2, fields[0] == "GET", fields[1] == "/metrics" {
            (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.text())
        } else if fields.count >= 2, fields[0] == "GET", fields[1] == "/healthz" {
            (status, type, body) = ("200 OK", "text/plain; charset=utf-8", Array("ok\n".utf8))
        } else {
            (status, type, body) = ("404 Not Found", "text/plain; charset=utf-8", Array("try GET /metrics or GET /healthz\n".utf8))
        }
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let response = Array(head.utf8) + body
        var sent = 0
        while sent < response.count {
            let n = response.withUnsafeBytes { send(client, $0.baseAddress! + sent, response.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
        // A request not read to its end: read what the client still sends before closing,
        // at most 4 MiB within the receive timeout (closing with unread input would reset
        // the connection and lose the answer on the client's side).
        guard !complete else { return }
        shutdown(client, Int32(SHUT_WR))
        var drained = 0
        while drained < 4 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, 4096, 0) }
            if n <= 0 { break }
            drained += n
        }
    }
}
