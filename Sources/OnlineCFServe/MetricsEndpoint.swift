import Dispatch
import Hummingbird
import Logging
import NIOCore
import OnlineCFRuntime
import Synchronization

/// A running job's `GET /metrics` (Prometheus text) and `GET /healthz`, served by the same
/// HTTP stack as `onlinecf serve`: Hummingbird's router on its event loops, beside the
/// job's own threads. Binds to 127.0.0.1 unless told otherwise.
///
/// Guarantees: the initializer returns once the socket listens (``port`` is the bound
/// one, also with port 0) or throws why it cannot; a request target over
/// ``maxTargetBytes`` is 414 and an unknown path 404, so no request gets a 5xx;
/// ``stop()`` stops the server.
public final class MetricsEndpoint: Sendable {
    public let host: String
    public let port: Int
    private let task: Task<Void, any Error>

    /// The longest request target answered (longer: 414).
    public static let maxTargetBytes = 8 * 1024

    /// `http://host:port/metrics`.
    public var url: String { "http://\(host):\(port)/metrics" }

    /// Listens on `address` (`host:port` or `:port`; port 0 picks a free one) and answers
    /// `/metrics` with `text()`.
    public init(address: String, text: @escaping @Sendable () -> [UInt8]) throws {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let requested = Int(parts[1]), (0...65535).contains(requested) else {
            throw RuntimeError("metrics address '\(address)' is not host:port (example: 127.0.0.1:9464)")
        }
        let host = parts[0].isEmpty ? "127.0.0.1" : String(parts[0])
        let router = Router()
        router.add(middleware: TargetLengthLimit())
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: text())))
        }
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        var logger = Logger(label: "onlinecf-metrics")
        logger.logLevel = .critical
        // The outcome of binding: the port, or why not.
        let bound = Mutex<Result<Int, any Error>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: requested), serverName: "onlinecf"),
            onServerRunning: { channel in
                bound.withLock { $0 = .success(channel.localAddress?.port ?? requested) }
                ready.signal()
            },
            logger: logger
        )
        task = Task.detached {
            do {
                try await app.run()
            } catch {
                let first = bound.withLock { state in
                    if state == nil { state = .failure(error); return true }
                    return false
                }
                if first { ready.signal() }
                throw error
            }
        }
        _ = ready.wait(timeout: .now() + 30)
        switch bound.withLock({ $0 }) {
        case .success(let port)?:
            self.host = host
            self.port = port
        case .failure(let error)?:
            throw RuntimeError("metrics: cannot listen on \(address): \(error)")
        case nil:
            task.cancel()
            throw RuntimeError("metrics: the endpoint on \(address) did not start within 30 s")
        }
    }

    /// Stops the server.
    public func stop() { task.cancel() }
}

/// Answers 414 to a request whose target is longer than ``MetricsEndpoint/maxTargetBytes``.
struct TargetLengthLimit<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if (request.head.path?.utf8.count ?? 0) > MetricsEndpoint.maxTargetBytes {
            return Response(status: .uriTooLong, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "request target over \(MetricsEndpoint.maxTargetBytes) bytes\n")))
        }
        return try await next(request, context)
    }
}
