import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime

/// How `onlinecf serve` listens and reads.
public struct ServeConfiguration: Sendable {
    /// IPv4 address or host name to bind (default 127.0.0.1: local clients only).
    public var host = "127.0.0.1"
    /// Port; 0 picks a free one (the real one is passed to `onListening`).
    public var port = 8080
    /// KV connections in the pool: the most requests served at once.
    public var connections = 2 * ProcessInfo.processInfo.activeProcessorCount
    /// Requests that may wait for a connection; more are answered 503 at once.
    public var maxWaiting = 1024
    /// The u2i2i blend when a request names none.
    public var defaultBlend = RecallBlend(.itemcfCosine)
    /// A keep-alive connection idle this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// Request head limits (bytes): each header field, and all of them together.
    public var maxHeaderFieldBytes = 8 * 1024
    public var maxHeaderListBytes = 32 * 1024
    /// The largest request body taken (a `POST /v1/u2i2i/{user}`; others take none): a
    /// larger declared one is answered 413, and a connection that keeps sending past it is
    /// closed.
    public var maxBodyBytes = 1 << 20

    public init() {}

    /// Parses `host:port` (`:port` binds 127.0.0.1).
    public mutating func setListen(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw RuntimeError("--listen '\(text)' is not host:port (example: 127.0.0.1:8080; port 0 picks a free one)")
        }
        let host = String(text[..<colon])
        self.host = host.isEmpty ? "127.0.0.1" : host
        self.port = port
    }
}

/// `/healthz`'s own connection: PING with short timeouts and no retries, so a dead store is
/// reported in about a second instead of after the pool's retries.
final class HealthCheck: @unchecked Sendable {
    private let queue = DispatchQueue(label: "onlinecf-serve-health")
    private let client: RedisClient  // touched only on `queue`

    init(endpoint: RedisEndpoint) {
        client = RedisClient(endpoint: endpoint, retry: .never, connectTimeout: .seconds(1), commandTimeout: .seconds(1), log: { _ in })
    }

    func ping() async -> Bool {
        await withCheckedContinuation { continuation in
            queue.async {
                let reply = try? self.client.execute(RedisCommand("PING"))
                if reply == nil { self.client.close() }
                continuation.resume(returning: reply?.string == "PONG")
            }
        }
    }

    func close() { queue.sync { client.close() } }
}

/// The HTTP server of `onlinecf serve`: Hummingbird 2 over a ``KVPool``.
///
/// Every request is a GET without a body, but for `POST /v1/u2i2i/{user}` with a JSON body
/// of request-time seeds: other methods are 405, a GET that declares a body 413, a body
/// over `maxBodyBytes` 413 (and a connection that keeps sending one past it is closed);
/// heads are bounded by `maxHeaderFieldBytes`/`maxHeaderListBytes` (NIO answers 400) and
/// the request target by ``ServeAPI/maxTargetBytes`` (414).
public enum ServeServer {
    /// Serves until SIGTERM or SIGINT, then stops gracefully (requests in progress finish)
    /// and returns. `onListening(host, port)` runs once the socket listens.
    public static func run(configuration: ServeConfiguration, endpoint: RedisEndpoint, keys: KeySchema,
                           onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let retry = RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(500), maxElapsed: .seconds(2))
        let pool = KVPool(size: configuration.connections, maxWaiting: configuration.maxWaiting, keys: keys) { _ in
            RedisClient(endpoint: endpoint, retry: retry, connectTimeout: .seconds(2), commandTimeout: .seconds(10), log: stderrLine)
        }
        let health = HealthCheck(endpoint: endpoint)
        let metrics = ServeMetrics(poolSize: configuration.connections)
        defer { pool.close(); health.close() }
        let api = ServeAPI(defaultBlend: configuration.defaultBlend, pool: pool, health: { await health.ping() },
                           metricsText: { metrics.text(poolLoad: await pool.load()) })
        var logger = Logger(label: "onlinecf-serve")
        logger.logLevel = .warning
        let app = Application(
            responder: ServeResponder(api: api, metrics: metrics, maxBodyBytes: configuration.maxBodyBytes),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestBodyLimitHandler(limit: configuration.maxBodyBytes)],
                idleTimeout: TimeAmount.seconds(max(1, configuration.idleTimeout.components.seconds)),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: configuration.maxHeaderFieldBytes,
                                                maxHeaderListSize: configuration.maxHeaderListBytes, maxHeaderFieldCount: 100))),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "onlinecf"),
            onServerRunning: { channel in
                onListening(configuration.host, channel.localAddress?.port ?? configuration.port)
            },
            logger: logger
        )
        // A ServiceGroup that shuts down gracefully on SIGTERM and SIGINT.
        try await app.runService()
    }
}

/// Turns a Hummingbird request into a ``ServeAPI`` call and its reply into a response,
/// counting it in the metrics.
struct ServeResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let api: ServeAPI
    let metrics: ServeMetrics
    let maxBodyBytes: Int

    func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        let endpoint: ServeEndpoint, reply: ServeReply
        let path = request.head.path ?? "/"
        let takesBody = path.hasPrefix("/v1/u2i2i/")
        if request.method == .post && takesBody {
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
                (endpoint, reply) = (.u2i2i, .error(413, "a request body of \(length) bytes; at most \(maxBodyBytes)"))
            } else if let body = try? await request.body.collect(upTo: maxBodyBytes) {
                (endpoint, reply) = await api.respond(target: path, body: Array(body.readableBytesView))
            } else {
                (endpoint, reply) = (.u2i2i, .error(413, "a request body over \(maxBodyBytes) bytes"))
            }
        } else if request.method != .get {
            endpoint = .other
            let allowed = takesBody ? "GET, POST" : "GET"
            reply = ServeReply(status: 405, contentType: "application/json",
                               body: JSONText.error("method \(request.method) not allowed; only \(allowed.replacingOccurrences(of: ", ", with: " or "))"),
                               allow: allowed)
        } else if let length = request.headers[.contentLength], length != "0" {
            (endpoint, reply) = (.other, .error(413, "request bodies are not accepted"))
        } else if request.headers[.transferEncoding] != nil {
            (endpoint, reply) = (.other, .error(413, "request bodies are not accepted"))
        } else {
            (endpoint, reply) = await api.respond(target: request.head.path ?? "/")
        }
        var headers: HTTPFields = [.contentType: reply.contentType]
        if let allow = reply.allow { headers[.allow] = allow }
        if let retryAfter = reply.retryAfter { headers[.retryAfter] = retryAfter }
        let response = Response(status: HTTPResponse.Status(code: reply.status), headers: headers,
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
        metrics.record(endpoint: endpoint, status: reply.status, duration: ContinuousClock.now - start)
        return response
    }
}

/// Closes a connection whose request body passes `limit` bytes (the API takes no bodies:
/// such a request is answered 413, and this stops a client from streaming one for ever).
final class RequestBodyLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    let limit: Int
    private var received = 0

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: received = 0
        case .body(let buffer):
            received += buffer.readableBytes
            if received > limit { context.close(promise: nil); return }
        case .end: break
        }
        context.fireChannelRead(data)
    }
}
