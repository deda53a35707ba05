#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Failure to open an input file.
public struct LineReaderError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let errno: Int32
    public var description: String { "cannot open \(path): \(String(cString: strerror(errno)))" }
}

/// Reads `\n`-terminated lines from a POSIX file descriptor in large chunks and hands them
/// to a closure without copying.
///
/// Guarantees:
/// - Lines are delivered in order, without their `\n` (a `\r` is left for the decoder),
///   numbered from 1, counting every line (empty ones too). A final line without a
///   trailing `\n` is delivered at end of input; input ending in `\n` has no extra line.
/// - Each `readAvailable` call performs **at most one** `read(2)`, and none while a
///   complete line is already buffered. So after ``waitReadable(timeoutMillis:)`` returns
///   true, `readAvailable` does not block. (On a blocking descriptor, calling it with
///   nothing buffered and no data available blocks in `read(2)`.)
/// - Lines of any length up to ``maxHeldLineBytes`` are delivered intact. A longer line is
///   delivered **truncated** to its first `maxHeldLineBytes` bytes; the rest (up to the
///   `\n`) is read and discarded, and ``currentLineDroppedBytes`` (valid inside the
///   closure) tells how many bytes were dropped. Line numbering is unaffected.
/// - `EINTR` is retried. Other read errors end the input: `readAvailable` returns
///   `.endOfInput` and ``readError`` holds the `errno`.
///
/// Not thread-safe; not reentrant (don't call the reader from inside the closure, except
/// its read-only properties). The buffer passed to the closure is valid only during the
/// call.
public final class LineReader {
    /// Outcome of one ``readAvailable(maxLines:_:)`` call.
    public enum ReadStatus: Equatable, Sendable {
        /// This many lines were delivered (may be 0 when a chunk was read but held no
        /// complete line yet; call again).
        case lines(Int)
        /// No more input (after every line has been delivered).
        case endOfInput
        /// The descriptor is non-blocking and had no data (`EAGAIN`).
        case wouldBlock
    }

    /// The descriptor being read.
    public let fileDescriptor: Int32
    /// Bytes requested per `read(2)`.
    public let chunkSize: Int
    /// Longest line delivered intact (default 64 MiB).
    public let maxHeldLineBytes: Int
    /// Total bytes read from the descriptor so far.
    public private(set) var bytesRead = 0
    /// Bytes of input consumed by delivered lines (including their `\n`): the byte offset
    /// where the next undelivered line starts.
    public private(set) var bytesConsumed = 0
    /// Number of the last delivered line (0 before the first).
    public private(set) var lineNumber = 0
    /// Inside the closure: bytes cut from the current line (0 unless it was longer than
    /// ``maxHeldLineBytes``).
    public private(set) var currentLineDroppedBytes = 0
    /// `errno` of a failed `read(2)` (other than EINTR/EAGAIN), which ended the input.
    public private(set) var readError: Int32?
    /// When true, reaching the end of the data (`read(2)` returns 0) does not end the
    /// input: `readAvailable` returns `.wouldBlock`, holds a final line that has no `\n`
    /// yet, and reads on at the next call (for following a file that grows). Setting it
    /// back to false lets the next call at the end deliver that line and end the input.
    public var waitsAtEnd = false

    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0  // first unconsumed byte
    private var end = 0  // end of valid data
    private var scanned = 0  // [start, scanned) holds no '\n'
    private var discarding = false  // over-long line: holding its prefix, dropping the rest
    private var dropped = 0
    private var eof = false
    private var finished = false
    private let ownsDescriptor: Bool

    /// Reads `fileDescriptor` (e.g. 0 for stdin). The reader does not close it.
    public convenience init(fileDescriptor: Int32, chunkSize: Int = 1 << 20, maxHeldLineBytes: Int = 64 << 20) {
        self.init(fd: fileDescriptor, owns: false, chunkSize: chunkSize, maxHeldLineBytes: maxHeldLineBytes)
    }

    /// Opens `path` read-only; the reader closes it when deallocated.
    public convenience init(path: String, chunkSize: Int = 1 << 20, maxHeldLineBytes: Int = 64 << 20)
        throws(LineReaderError)
    {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        if fd < 0 { throw LineReaderError(path: path, errno: errno) }
        self.init(fd: fd, owns: true, chunkSize: chunkSize, maxHeldLineBytes: maxHeldLineBytes)
    }

    private init(fd: Int32, owns: Bool, chunkSize: Int, maxHeldLineBytes: Int) {
        precondition(chunkSize >= 1 && maxHeldLineBytes >= 1)
        fileDescriptor = fd
        ownsDescriptor = owns
        self.chunkSize = chunkSize
        self.maxHeldLineBytes = maxHeldLineBytes
        capacity = chunkSize
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        if ownsDescriptor { _ = close(fileDescriptor) }
    }

    /// True when the next ``readAvailable(maxLines:_:)`` will deliver a line or report the
    /// end without reading.
    public var hasBufferedLine: Bool {
        if finished || eof { return true }
        if discarding { return false }
        return findNewline() != nil
    }

    /// Waits up to `timeoutMillis` (-1 = forever) until reading will not block: a line is
    /// buffered, or the descriptor is readable / at end / in error. Returns false on timeout.
    public func waitReadable(timeoutMillis: Int32) -> Bool {
        if hasBufferedLine { return true }
        var pfd = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&pfd, 1, timeoutMillis)
            if r > 0 { return true }
            if r == 0 { return false }
            if errno != EINTR { return true }  // let read(2) report the problem
        }
    }

    /// Delivers up to `maxLines` buffered lines to `body`; if none is buffered, reads one
    /// chunk first. See ``ReadStatus``. If `body` throws, the line counts as delivered.
    public func readAvailable(
        maxLines: Int, _ body: (UnsafeBufferPointer<UInt8>, _ lineNumber: Int) throws -> Void
    ) rethrows -> ReadStatus {
        precondition(maxLines >= 1, "maxLines must be positive")
        if finished { return .endOfInput }
        var delivered = try deliverBuffered(maxLines, body)
        if delivered > 0 { return .lines(delivered) }
        if eof { return try finish(body) }

        // Nothing complete buffered: read one chunk.
        prepareSpace()
        var n: Int
        repeat { n = read(fileDescriptor, buffer + end, capacity - end) } while n < 0 && errno == EINTR
        if n < 0 {
            let e = errno
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            readError = e
            eof = true
            return try finish(body)
        }
        if n == 0 {
            if waitsAtEnd { return .wouldBlock }
            eof = true
            return try finish(body)
        }
        bytesRead += n
        if discarding {
            // Holding [start, end) = the kept prefix; the new bytes are at [end, end + n).
            if let newline = memchrIndex(end, end + n) {
                dropped += newline - end
                let rest = end + n
                end = newline  // the line is [start, start + maxHeldLineBytes)
                try deliverLine(lineEnd: newline, consumed: newline + 1, body)
                discarding = false
                start = newline + 1
                end = rest
                scanned = start
                delivered = 1
            } else {
                dropped += n
                return .lines(0)
            }
        } else {
            end += n
        }
        delivered += try deliverBuffered(maxLines - delivered, body)
        if !discarding && findNewline() == nil && end - start > maxHeldLineBytes {
            // Partial line already over the cap: keep its prefix, drop the rest.
            dropped = end - start - maxHeldLineBytes
            end = start + maxHeldLineBytes
            discarding = true
        }
        return .lines(delivered)
    }

    // MARK: - Internals

    private func memchrIndex(_ from: Int, _ to: Int) -> Int? {
        guard to > from, let p = memchr(buffer + from, 0x0A, to - from) else { return nil }
        return buffer.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    private func findNewline() -> Int? {
        if let k = memchrIndex(scanned, end) { return k }
        scanned = end
        return nil
    }

    private func deliverBuffered(
        _ maxLines: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
    ) rethrows -> Int {
        guard !discarding else { return 0 }
        var count = 0
        while count < maxLines, let newline = findNewline() {
            let lineStart = start
            start = newline + 1
            scanned = start
            count += 1
            if newline - lineStart > maxHeldLineBytes {
                dropped = newline - lineStart - maxHeldLineBytes
                try deliver(lineStart, lineStart + maxHeldLineBytes, consumed: newline + 1 - lineStart, body)
            } else {
                try deliver(lineStart, newline, consumed: newline + 1 - lineStart, body)
            }
        }
        return count
    }

    /// Delivers the held prefix of an over-long line (discarding mode).
    private func deliverLine(
        lineEnd: Int, consumed: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
    ) rethrows {
        let kept = min(maxHeldLineBytes, lineEnd - start)
        let total = kept + dropped + 1
        try deliver(start, start + kept, consumed: total, body)
    }

    private func deliver(
        _ lo: Int, _ hi: Int, consumed: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
    ) rethrows {
        lineNumber += 1
        bytesConsumed += consumed
        currentLineDroppedBytes = dropped
        dropped = 0
        defer { currentLineDroppedBytes = 0 }
        try body(UnsafeBufferPointer(start: buffer + lo, count: hi - lo), lineNumber)
    }

    /// End of input: deliver the final unterminated line, if any.
    private func finish(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) rethrows -> ReadStatus {
        if discarding || end > start {
            let lo = start
            let hi = end
            start = end
            discarding = false
            try deliver(lo, hi, consumed: hi - lo + dropped, body)
            return .lines(1)
        }
        finished = true
        return .endOfInput
    }

    /// Makes room for at least `chunkSize` bytes after `end`.
    private func prepareSpace() {
        if start == end && !discarding {
            start = 0
            end = 0
            scanned = 0
        }
        if capacity - end >= chunkSize { return }
        if start > 0 {
            let held = end - start
            buffer.update(from: buffer + start, count: held)  // memmove semantics
            scanned -= start
            end = held
            start = 0
        }
        if capacity - end >= chunkSize { return }
        let newCapacity = max(capacity * 2, end + chunkSize)
        let newBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBuffer.initialize(from: buffer, count: end)
        buffer.deallocate()
        buffer = newBuffer
        capacity = newCapacity
    }
}
