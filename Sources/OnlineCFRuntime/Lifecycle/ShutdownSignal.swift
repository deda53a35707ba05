import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT and SIGTERM into a graceful-shutdown request that the pipeline polls:
/// it stops reading, emits, commits and exits 0. A second SIGINT exits at once (status
/// 130); the state in the KV store is then as of the last commit, which is consistent
/// because every commit is one transaction.
public final class ShutdownSignal: Sendable {
    private let requested = Atomic<Int>(0)
    // DispatchSourceSignal is not Sendable; the sources are created once in `init`,
    // never mutated afterwards, and only kept alive here.
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []

    /// A signal that nothing raises (for tests and one-shot commands).
    public static func none() -> ShutdownSignal { ShutdownSignal(install: false) }

    public init(install: Bool = true) {
        guard install else { return }
        var made: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                let previous = requested.add(1, ordering: .sequentiallyConsistent).oldValue
                if previous >= 1 && sig == SIGINT {
                    stderrLine("second interrupt: exiting now; the KV store keeps the last commit")
                    _exit(130)
                }
                if previous == 0 { stderrLine("shutting down: finishing the current batch, emitting and committing (interrupt again to exit now)") }
            }
            source.resume()
            made.append(source)
        }
        sources = made
    }

    /// Asks for a graceful shutdown (as a signal would).
    public func request() { requested.add(1, ordering: .sequentiallyConsistent) }

    public var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) > 0 }
}
