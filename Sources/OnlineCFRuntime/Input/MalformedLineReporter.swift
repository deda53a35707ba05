#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reports malformed input lines: on stderr with line number and reason (the first
/// `printLimit` one by one, then at most one summary line per second), counted, and,
/// when a dead-letter file is given, copied there byte for byte, one per line.
public final class MalformedLineReporter {
    public private(set) var count = 0
    public let printLimit: Int
    private let deadLetter: UnsafeMutablePointer<FILE>?
    public let deadLetterPath: String?
    private var suppressed = 0
    private var lastSummary = ContinuousClock.now
    private let log: (String) -> Void

    public init(deadLetterPath: String?, printLimit: Int = 20, log: @escaping (String) -> Void = { stderrLine($0) }) throws {
        self.printLimit = printLimit
        self.deadLetterPath = deadLetterPath
        self.log = log
        if let path = deadLetterPath {
            guard let file = fopen(path, "ab") else {
                throw RuntimeError("cannot open dead-letter file '\(path)': \(String(cString: strerror(errno)))")
            }
            deadLetter = file
        } else {
            deadLetter = nil
        }
    }

    deinit { if let f = deadLetter { fclose(f) } }

    public func report(lineNumber: Int, reason: String, line: UnsafeBufferPointer<UInt8>) {
        report(at: "line \(lineNumber)", reason: reason, line: line)
    }

    /// Reports a malformed line found at `location` (`line 3`, `b.tsv line 3`, `entry 1-0`).
    public func report(at location: String, reason: String, line: UnsafeBufferPointer<UInt8>) {
        count += 1
        if let f = deadLetter {
            if let base = line.baseAddress, line.count > 0 { fwrite(base, 1, line.count, f) }
            fputc(0x0A, f)
        }
        if count <= printLimit {
            log("\(location): \(reason)" + (count == printLimit ? " (further malformed lines are summarised)" : ""))
            return
        }
        suppressed += 1
        let now = ContinuousClock.now
        if now - lastSummary >= .seconds(1) {
            log("\(suppressed) more malformed lines; latest: \(location): \(reason)")
            suppressed = 0
            lastSummary = now
        }
    }

    /// Prints what is still unreported and flushes the dead-letter file.
    public func finish() {
        if suppressed > 0 { log("\(suppressed) more malformed lines") ; suppressed = 0 }
        if let f = deadLetter { fflush(f) }
    }
}
