import Foundation
import OnlineCFCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file, or a folder of files read one after another in byte-wise name order (names
/// starting with `.` are left out, so a writer can fill `.part` files and rename them).
///
/// Its position is the file's name, the byte offset where the next unread line starts and
/// the number of lines before it, written `NAME:OFFSET:LINES` (e.g. `day-2.jsonl:81920:1024`).
/// On open it seeks there; line numbers in reports stay those of the file. A file of the
/// folder whose name sorts before the position's file is done; if the position's file is
/// gone, reading goes on with the next name.
///
/// Without `follow` the input ends at the end of the last file. With `follow` it waits at
/// the end for appended lines (a last line without `\n` is held until its `\n` arrives) and,
/// for a folder, for new files: once a later file exists, the current one is read to its
/// end, its last line delivered even without `\n`, and reading moves on.
public final class FileSource: EventSource {
    public let path: String
    public let isFolder: Bool
    public let follow: Bool
    private let directory: String
    private let shouldStop: () -> Bool

    private struct Current {
        var name: String
        var fd: Int32
        var reader: LineReader
        /// Byte offset and line count where `reader` started.
        var baseOffset: Int
        var baseLine: Int
    }
    private var current: Current?
    /// Line 1 of the current file, to hand to the decoder again after a seek.
    private var headerReplay: [UInt8]?
    /// The position when no file is open (before the first, or after a file that is gone).
    private var restingPosition: String?
    private var committedPosition: String?
    /// At the end of the data with `follow`: the last read found nothing new.
    private var idle = false
    /// True once the input is over (no `follow`).
    private var ended = false
    private var filesRead = 0

    public init(path: String, follow: Bool, shouldStop: @escaping () -> Bool = { false }) throws {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            throw RuntimeError("source file:\(path): no such file or folder")
        }
        self.path = absolute
        self.isFolder = isDirectory.boolValue
        self.follow = follow
        self.shouldStop = shouldStop
        directory = isDirectory.boolValue ? absolute : (absolute as NSString).deletingLastPathComponent
    }

    deinit { if let current { _ = close(current.fd) } }

    public var identity: String? { "file:" + path }

    public var position: String? {
        guard let current else { return restingPosition }
        return "\(current.name):\(current.baseOffset + current.reader.bytesConsumed):\(current.baseLine + current.reader.lineNumber)"
    }

    public var needsCommit: Bool { position != committedPosition }
    public func didCommit() throws { committedPosition = position }

    /// The files of the source, in byte-wise name order.
    private func names() -> [String] {
        if !isFolder { return [(path as NSString).lastPathComponent] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { name in
            guard !name.hasPrefix(".") else { return false }
            var st = stat()
            return stat(directory + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        }.sorted { $0.utf8Precedes($1) }
    }

    private static func parsePosition(_ text: String) -> (name: String, offset: Int, line: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, let offset = Int(parts[parts.count - 2]), let line = Int(parts[parts.count - 1]),
              offset >= 0, line >= 0 else { return nil }
        return (parts.dropLast(2).joined(separator: ":"), offset, line)
    }

    public func open(at committed: String?) throws -> String? {
        committedPosition = committed
        guard let committed else {
            if let first = names().first { try openFile(first, offset: 0, line: 0) }
            return nil
        }
        guard let (name, offset, line) = Self.parsePosition(committed) else {
            throw RuntimeError("the committed position '\(committed)' of \(identity!) is not NAME:OFFSET:LINES; 'onlinecf reset' the namespace")
        }
        restingPosition = committed
        if names().contains(name) {
            try openFile(name, offset: offset, line: line)
            return "resumed: reading \(name) from line \(line + 1) (byte \(offset)), the position committed by an earlier run"
        }
        if !isFolder { throw RuntimeError("source \(identity!): \(path) is gone (the committed position is in it)") }
        if let next = names().first(where: { name.utf8Precedes($0) }) { try openFile(next, offset: 0, line: 0) }
        return "resumed: \(name) (the committed position) is gone; reading on with the next file"
    }

    private func openFile(_ name: String, offset: Int, line: Int) throws {
        let filePath = directory + "/" + name
        var fd: Int32
        repeat { fd = openReadOnly(filePath) } while fd < 0 && errno == EINTR
        if fd < 0 { throw RuntimeError("cannot open \(filePath): \(String(cString: strerror(errno)))") }
        var st = stat()
        if fstat(fd, &st) == 0, Int(st.st_size) < offset {
            _ = close(fd)
            throw RuntimeError("\(filePath) has \(st.st_size) bytes, fewer than the committed position \(offset): was it truncated or replaced? Use another --namespace, or 'onlinecf reset'")
        }
        headerReplay = nil
        if offset > 0 && line > 0 { headerReplay = Self.firstLine(fd: fd) }
        if lseek(fd, off_t(offset), SEEK_SET) < 0 {
            let e = errno
            _ = close(fd)
            throw RuntimeError("cannot seek in \(filePath): \(String(cString: strerror(e)))")
        }
        if let current { _ = close(current.fd) }
        let reader = LineReader(fileDescriptor: fd)
        reader.waitsAtEnd = follow
        current = Current(name: name, fd: fd, reader: reader, baseOffset: offset, baseLine: line)
        filesRead += 1
    }

    /// Line 1 of the file (at most 1 MiB), read with `pread` (the offset stays put).
    private static func firstLine(fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(bytes.count)) }
            if n <= 0 { break }
            if let newline = chunk[0..<n].firstIndex(of: 0x0A) {
                bytes += chunk[0..<newline]
                return bytes
            }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    /// The first file whose name sorts after the current one's.
    private func nextName() -> String? {
        guard isFolder else { return nil }
        let after = current?.name ?? restingPosition.flatMap { Self.parsePosition($0)?.name }
        return names().first { name in after.map { $0.utf8Precedes(name) } ?? true }
    }

    /// True when the current file has bytes beyond what was read, or a later file exists.
    private func hasNewData() -> Bool {
        if let current {
            var st = stat()
            if fstat(current.fd, &st) == 0, Int(st.st_size) > current.baseOffset + current.reader.bytesRead { return true }
        }
        return nextName() != nil
    }

    public func waitReadable(timeoutMillis: Int32) -> Bool {
        guard idle else { return true }
        if hasNewData() { idle = false; return true }
        let slice: Int32 = 50
        var waited: Int32 = 0
        while waited < timeoutMillis && !shouldStop() {
            usleep(UInt32(min(slice, timeoutMillis - waited)) * 1000)
            waited += slice
            if hasNewData() { idle = false; return true }
        }
        return false
    }

    public func read(maxLines: Int, _ body: (SourceLine) -> Void) throws -> SourceStatus {
        if ended { return .endOfInput }
        guard let current else {
            if let next = nextName() { try openFile(next, offset: 0, line: 0); return .lines(0) }
            if follow { idle = true; return .lines(0) }
            ended = true
            return .endOfInput
        }
        var delivered = 0
        let file: String? = isFolder ? current.name : nil
        if let header = headerReplay {
            headerReplay = nil
            header.withUnsafeBufferPointer { bytes in
                var line = SourceLine(bytes: bytes, number: 1)
                line.file = file
                line.isHeaderReplay = true
                body(line)
            }
        }
        let baseLine = current.baseLine
        let status = current.reader.readAvailable(maxLines: maxLines) { bytes, number in
            var line = SourceLine(bytes: bytes, number: baseLine + number)
            line.file = file
            body(line)
        }
        switch status {
        case .lines(let n):
            delivered += n
        case .wouldBlock:
            // Following, at the end of the data: a later file means this one is complete.
            if nextName() != nil { current.reader.waitsAtEnd = false } else { idle = true }
        case .endOfInput:
            if let error = current.reader.readError {
                throw RuntimeError("reading \(directory)/\(current.name) failed: \(String(cString: strerror(error)))")
            }
            if let next = nextName() {
                try openFile(next, offset: 0, line: 0)
            } else if follow {
                // Read to its end because a later file had appeared; wait for more files.
                restingPosition = position
                _ = close(current.fd)
                self.current = nil
                idle = true
            } else {
                ended = true
                return .endOfInput
            }
        }
        return .lines(delivered)
    }

    public var report: String? {
        isFolder ? "source: \(filesRead) file(s) of \(path) read; position \(position ?? "at the start")" : nil
    }
}

/// `open(2)` read-only (a free function: inside `FileSource`, `open` is its own method).
private func openReadOnly(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }
