import Foundation

/// Where a Redis-compatible server listens and how to log in to it.
///
/// Guarantees: `displayName`, `description`, `debugDescription` and the reflection
/// mirror never contain the password, so an endpoint can be logged freely. Parsing
/// is strict: anything not in the accepted forms throws `KVError(.invalidURL)` whose
/// message lists the accepted forms.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// Transport address.
    public enum Address: Sendable, Hashable {
        /// TCP host (name or IP literal, IPv6 without brackets) and port.
        case tcp(host: String, port: Int)
        /// Path of a unix domain socket.
        case unix(path: String)
    }

    /// Default Redis TCP port.
    public static let defaultPort = 6379
    /// The accepted URL forms, for error messages and help texts.
    public static let acceptedForms =
        "redis://[user[:password]@]host[:port][/db] or unix:///path/to.sock[?db=N]"

    public var address: Address
    /// ACL user name (Redis 6+); nil means the `default` user.
    public var user: String?
    /// Password for AUTH; nil means no AUTH.
    public var password: String?
    /// Logical database selected after connecting (0 = no SELECT sent).
    public var database: Int

    public init(address: Address, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.address = address
        self.user = user
        self.password = password
        self.database = database
    }

    /// A unix-socket endpoint.
    public static func unixSocket(_ path: String, database: Int = 0, user: String? = nil, password: String? = nil) -> RedisEndpoint {
        RedisEndpoint(address: .unix(path: path), user: user, password: password, database: database)
    }

    /// A TCP endpoint.
    public static func tcp(host: String, port: Int = defaultPort, database: Int = 0, user: String? = nil, password: String? = nil) -> RedisEndpoint {
        RedisEndpoint(address: .tcp(host: host, port: port), user: user, password: password, database: database)
    }

    /// Parses `redis://[user[:password]@]host[:port][/db]` or `unix:///path/to.sock[?db=N]`
    /// (also `unix:/path/to.sock`). User and password are percent-decoded. If the URL
    /// carries no password and `ONLINECF_REDIS_PASSWORD` is set (non-empty) in
    /// `environment`, that password is used, with the user from the URL or else from
    /// `ONLINECF_REDIS_USER`.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(KVError) {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower.hasPrefix("redis://") {
            self = try Self.parseTCP(String(trimmed.dropFirst("redis://".count)), url: url)
        } else if lower.hasPrefix("unix://") {
            self = try Self.parseUnix(String(trimmed.dropFirst("unix://".count)), url: url)
        } else if lower.hasPrefix("unix:") {
            self = try Self.parseUnix(String(trimmed.dropFirst("unix:".count)), url: url)
        } else if lower.hasPrefix("rediss://") {
            throw Self.invalid(url, "TLS (rediss://) is not supported")
        } else {
            throw Self.invalid(url, "unknown scheme")
        }
        if password == nil, let envPassword = environment["ONLINECF_REDIS_PASSWORD"], !envPassword.isEmpty {
            password = envPassword
            if user == nil, let envUser = environment["ONLINECF_REDIS_USER"], !envUser.isEmpty {
                user = envUser
            }
        }
    }

    /// `host:port` (`[v6]:port` for IPv6) or `unix:/path`; never includes credentials.
    /// A non-zero database is appended as `/db`.
    public var displayName: String {
        var name: String
        switch address {
        case .tcp(let host, let port):
            name = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path):
            name = "unix:\(path)"
        }
        if database != 0 { name += "/\(database)" }
        return name
    }

    public var description: String { displayName }
    public var debugDescription: String {
        "RedisEndpoint(\(displayName)\(user.map { ", user: \($0)" } ?? "")\(password == nil ? "" : ", password: ***"))"
    }
    public var customMirror: Mirror {
        Mirror(self, children: [
            "address": address, "user": user as Any,
            "password": (password == nil ? "nil" : "***") as Any, "database": database,
        ])
    }

    // MARK: - Parsing

    private static func invalid(_ url: String, _ reason: String) -> KVError {
        // Never echo a URL that may contain a password.
        let shown = url.contains("@") ? "(URL with credentials)" : "'\(url)'"
        return KVError(code: .invalidURL, message: "invalid Redis URL \(shown): \(reason); accepted forms: \(acceptedForms)")
    }

    private static func decode(_ s: Substring, _ url: String, _ what: String) throws(KVError) -> String {
        guard let d = String(s).removingPercentEncoding else {
            throw invalid(url, "bad percent-encoding in \(what)")
        }
        return d
    }

    /// Splits `user:password` userinfo; empty parts become nil.
    private static func parseUserInfo(_ info: Substring, _ url: String) throws(KVError) -> (String?, String?) {
        let user: Substring
        var password: Substring? = nil
        if let colon = info.firstIndex(of: ":") {
            user = info[..<colon]
            password = info[info.index(after: colon)...]
        } else {
            user = info
        }
        let u = user.isEmpty ? nil : try decode(user, url, "user")
        let p: String? = (password == nil || password!.isEmpty) ? nil : try decode(password!, url, "password")
        return (u, p)
    }

    private static func parseDatabase(_ text: Substring, _ url: String) throws(KVError) -> Int {
        guard let db = Int(text), db >= 0, !text.hasPrefix("+") else {
            throw invalid(url, "database must be a non-negative integer, got '\(text)'")
        }
        return db
    }

    private static func parseTCP(_ rest: String, url: String) throws(KVError) -> RedisEndpoint {
        var rest = Substring(rest)
        var user: String? = nil
        var password: String? = nil
        if let at = rest.lastIndex(of: "@") {
            (user, password) = try parseUserInfo(rest[..<at], url)
            rest = rest[rest.index(after: at)...]
        }
        if rest.contains("?") || rest.contains("#") {
            throw invalid(url, "query parameters are not supported in redis:// URLs")
        }
        var hostPort = rest
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty { database = try parseDatabase(path, url) }
        }
        var host: Substring
        var portText: Substring? = nil
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid(url, "unterminated IPv6 address") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid(url, "unexpected text after IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.firstIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        if host.isEmpty { throw invalid(url, "missing host") }
        var port = defaultPort
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p), !portText.hasPrefix("+") else {
                throw invalid(url, "port must be 1-65535, got '\(portText)'")
            }
            port = p
        }
        return RedisEndpoint(address: .tcp(host: String(host), port: port), user: user, password: password, database: database)
    }

    private static func parseUnix(_ rest: String, url: String) throws(KVError) -> RedisEndpoint {
        var rest = Substring(rest)
        var user: String? = nil
        var password: String? = nil
        // Optional userinfo before the (absolute) path: unix://user:pw@/path.sock
        if let at = rest.firstIndex(of: "@"), let slash = rest.firstIndex(of: "/"), at < slash {
            (user, password) = try parseUserInfo(rest[..<at], url)
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        var path = rest
        if let q = rest.firstIndex(of: "?") {
            path = rest[..<q]
            for item in rest[rest.index(after: q)...].split(separator: "&") {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0] == "db" else {
                    throw invalid(url, "only the query parameter db=N is supported (passwords go in the userinfo or ONLINECF_REDIS_PASSWORD)")
                }
                database = try parseDatabase(parts[1], url)
            }
        }
        guard path.hasPrefix("/"), path.count > 1 else {
            throw invalid(url, "unix socket path must be absolute")
        }
        let decodedPath = try decode(path, url, "socket path")
        return RedisEndpoint(address: .unix(path: decodedPath), user: user, password: password, database: database)
    }
}
