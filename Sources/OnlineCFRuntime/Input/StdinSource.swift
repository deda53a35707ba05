#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard input (or any descriptor: a batch passes its file), read once to its end.
/// It keeps no position: a pipe cannot be replayed, so after a crash the same input is
/// piped again, and `--resume` skips the lines an earlier run committed
/// (`input_lines_committed`, kept by the job).
public final class StdinSource: EventSource {
    private let reader: LineReader

    public init(fileDescriptor: Int32 = 0) {
        reader = LineReader(fileDescriptor: fileDescriptor)
    }

    /// Reads on with `reader` (lines it already buffered included).
    public init(reader: LineReader) {
        self.reader = reader
    }

    public var identity: String? { nil }
    public var position: String? { nil }
    public func open(at committed: String?) throws -> String? { nil }

    public func waitReadable(timeoutMillis: Int32) -> Bool {
        reader.waitReadable(timeoutMillis: timeoutMillis)
    }

    public func read(maxLines: Int, _ body: (SourceLine) -> Void) throws -> SourceStatus {
        let status = reader.readAvailable(maxLines: maxLines) { bytes, number in
            body(SourceLine(bytes: bytes, number: number))
        }
        switch status {
        case .lines(let n): return .lines(n)
        case .wouldBlock: return .lines(0)
        case .endOfInput:
            if let error = reader.readError {
                throw RuntimeError("reading the input failed: \(String(cString: strerror(error))) (after line \(reader.lineNumber))")
            }
            return .endOfInput
        }
    }
}
