import Foundation
import OnlineCFKV

/// Where the KV store is: a URL given by the user, or a private redis-server that
/// OnlineCF starts itself (the default, so a first pipe just works).
public struct KVLocation: Sendable {
    /// `--redis URL`, or nil for the private server.
    public var url: String?
    /// The folder of the private server's socket, data and log.
    public var stateDirectory: String

    public init(url: String?, stateDirectory: String? = nil) {
        self.url = url
        self.stateDirectory = stateDirectory ?? KVLocation.defaultStateDirectory()
    }

    /// `$ONLINECF_HOME`, else `./.onlinecf`.
    public static func defaultStateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["ONLINECF_HOME"], !home.isEmpty { return home }
        return FileManager.default.currentDirectoryPath + "/.onlinecf"
    }
}

/// An open KV client, and the private server behind it when OnlineCF started one.
///
/// Guarantees: `close()` stops a server this handle started (saving its data for the
/// next command), and leaves alone a server that was already running.
public final class KVHandle {
    public let client: RedisClient
    public let server: RedisServerProcess?
    public let displayName: String

    init(client: RedisClient, server: RedisServerProcess?, displayName: String) {
        self.client = client
        self.server = server
        self.displayName = displayName
    }

    /// Opens the KV store at `location`. With no URL, reuses the private server if one
    /// is already answering on its socket, else starts one.
    /// `retry` applies to every command: jobs keep the default (retry until the store is
    /// back, which is the back-pressure), one-shot queries give up after a few seconds.
    public static func open(_ location: KVLocation, retry: RetryPolicy = .default, log: @escaping @Sendable (String) -> Void = stderrLine,
                            shouldGiveUp: @escaping () -> Bool = { false }) throws -> KVHandle {
        if let url = location.url {
            let endpoint = try RedisEndpoint(url: url)
            let client = RedisClient(endpoint: endpoint, retry: retry, log: log, shouldGiveUp: shouldGiveUp)
            return KVHandle(client: client, server: nil, displayName: endpoint.displayName)
        }
        let socket = location.stateDirectory + "/redis.sock"
        let existing = try RedisEndpoint(url: "unix://" + socket)
        if FileManager.default.fileExists(atPath: socket), isRedisAlive(endpoint: existing) {
            return KVHandle(client: RedisClient(endpoint: existing, retry: retry, log: log, shouldGiveUp: shouldGiveUp),
                            server: nil, displayName: "private redis at \(socket) (shared)")
        }
        let server = try RedisServerProcess.start(directory: location.stateDirectory, unixSocket: socket)
        let client = RedisClient(endpoint: server.endpoint, retry: retry, log: log, shouldGiveUp: shouldGiveUp)
        return KVHandle(client: client, server: server, displayName: "private redis at \(socket)")
    }

    /// Closes the client and stops a server this handle started. It saves its data unless
    /// the server reports no change since its snapshot (`rdb_changes_since_last_save: 0`,
    /// as after a read-only command: the snapshot on disk already holds everything), so
    /// reading a large namespace does not rewrite it.
    public func close() {
        var save = true
        if server != nil, let info = try? client.execute(RedisCommand("INFO", "persistence")).string,
           info.split(whereSeparator: \.isNewline).contains(where: { $0 == "rdb_changes_since_last_save:0" }) {
            save = false
        }
        client.close()
        server?.stop(save: save)
    }
}

/// Writes one line to standard error.
@Sendable public func stderrLine(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
