import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over a plain blocking socket to 127.0.0.1, with no client library involved:
/// how tests talk to `serve` and to a job's `/metrics`.
public enum RawHTTP {
    public struct ConnectionRefused: Error, CustomStringConvertible {
        public let port: Int
        public var description: String { "cannot connect to 127.0.0.1:\(port)" }
    }

    /// Sends `request` as written and returns the whole response (status line, headers,
    /// body) once the server closes the connection; gives up reading after 10 s.
    public static func exchange(port: Int, _ request: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw ConnectionRefused(port: port) }
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// The body of `GET url` (`http://127.0.0.1:PORT/path`).
    public static func get(_ url: String) throws -> String {
        let rest = url.dropFirst("http://".count)
        let hostPort = rest.prefix { $0 != "/" }, path = String(rest.dropFirst(hostPort.count))
        let port = Int(hostPort.split(separator: ":")[1])!
        let text = try exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        guard let split = text.range(of: "\r\n\r\n") else { return "" }
        return String(text[split.upperBound...])
    }
}
