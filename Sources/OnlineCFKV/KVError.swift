/// An error from the KV adapter.
///
/// Guarantees: `description` always names the server (when known) and the failing
/// command (name and first key only — never a password), so a log line is enough to
/// tell which store and which operation failed. `isConnectionProblem` is true exactly
/// for the codes where reconnecting and retrying may help.
public struct KVError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The kind of failure. Compare with the static members, e.g. `error.code == .timeout`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable identifier, e.g. `"connectionFailed"`.
        public let name: String
        private init(_ name: String) { self.name = name }

        /// Could not establish a connection (refused, no such socket, DNS, connect timeout).
        public static let connectionFailed = Code("connectionFailed")
        /// An established connection broke (EOF, reset, I/O error).
        public static let connectionLost = Code("connectionLost")
        /// A command did not complete within the command timeout.
        public static let timeout = Code("timeout")
        /// The server answered with an error reply (`-ERR …`), including AUTH/SELECT failures.
        public static let serverError = Code("serverError")
        /// The server refused a write because it reached `maxmemory` (`-OOM …`), with an
        /// eviction policy that could not (or may not) free memory. The client waits and
        /// resends; this code reaches the caller only when its retry policy gives up.
        public static let outOfMemory = Code("outOfMemory")
        /// The reply could not be parsed or was of an unexpected shape.
        public static let protocolError = Code("protocolError")
        /// A Redis URL could not be parsed.
        public static let invalidURL = Code("invalidURL")
        /// No redis-server (or compatible) executable could be found.
        public static let serverNotFound = Code("serverNotFound")
        /// A managed redis-server could not be started or did not become ready.
        public static let serverStartFailed = Code("serverStartFailed")

        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// Human-readable detail, e.g. the server's error text.
    public var message: String
    /// Display name of the server involved (`127.0.0.1:6379`, `unix:/path`), if any.
    public var server: String?
    /// Short description of the failing command (`ZADD ocf:i2i:42`), if any.
    public var command: String?

    public init(code: Code, message: String, server: String? = nil, command: String? = nil) {
        self.code = code
        self.message = message
        self.server = server
        self.command = command
    }

    /// True for `connectionFailed`, `connectionLost` and `timeout`: retrying on a fresh
    /// connection may succeed.
    public var isConnectionProblem: Bool {
        code == .connectionFailed || code == .connectionLost || code == .timeout
    }

    public var description: String {
        var text = server.map { "redis \($0): \(message)" } ?? message
        if let command { text += " (command: \(command))" }
        return text
    }
}
