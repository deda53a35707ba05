import Foundation
import OnlineCFCore
import Testing
@testable import OnlineCFRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` to a fresh temporary file and returns its path.
private func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("linereader-\(UUID().uuidString).txt").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

private struct Line: Equatable {
    var bytes: [UInt8]
    var number: Int
    var dropped = 0
}

/// Reads everything, checking the status protocol along the way.
private func readAll(_ reader: LineReader, maxLines: Int = 1000) -> [Line] {
    var lines: [Line] = []
    while true {
        let status = reader.readAvailable(maxLines: maxLines) { line, number in
            lines.append(Line(bytes: Array(line), number: number, dropped: reader.currentLineDroppedBytes))
        }
        if status == .endOfInput { break }
        if case .lines(let n) = status { #expect(n <= maxLines) }
    }
    #expect(reader.readAvailable(maxLines: 1) { _, _ in } == .endOfInput)
    return lines
}

private func lines(ofFile bytes: [UInt8], chunkSize: Int, maxHeld: Int = 64 << 20, maxLines: Int = 1000) throws -> (
    [Line], LineReader
) {
    let path = try temporaryFile(bytes)
    defer { unlink(path) }
    let reader = try LineReader(path: path, chunkSize: chunkSize, maxHeldLineBytes: maxHeld)
    return (readAll(reader, maxLines: maxLines), reader)
}

private func expected(_ texts: [String]) -> [Line] {
    texts.enumerated().map { Line(bytes: Array($1.utf8), number: $0 + 1) }
}

@Suite struct LineReaderTests {
    @Test func manyLines() throws {
        let texts = (0..<100_000).map { "line \($0) " + String(repeating: "x", count: $0 % 37) }
        let input = Array((texts.joined(separator: "\n") + "\n").utf8)
        for chunk in [1 << 20, 4096, 7] {
            let (got, reader) = try lines(ofFile: input, chunkSize: chunk, maxLines: 333)
            #expect(got == expected(texts))
            #expect(reader.bytesRead == input.count)
            #expect(reader.bytesConsumed == input.count)
            #expect(reader.lineNumber == texts.count)
        }
    }

    @Test func chunkBoundaries() throws {
        let texts = ["", "a", "bc", "", "def", "ghij", "é😀", "", "", "klmnopqrstuvwxyz0123456789", "z"]
        let input = Array(texts.joined(separator: "\n").utf8)  // no final newline
        for chunk in 1...30 {
            for maxLines in [1, 2, 100] {
                let (got, _) = try lines(ofFile: input, chunkSize: chunk, maxLines: maxLines)
                #expect(got == expected(texts), "chunk \(chunk), maxLines \(maxLines)")
            }
        }
    }

    @Test func crlfIsLeftForTheDecoder() throws {
        let input = Array("{\"user\":\"u\",\"item\":\"i\"}\r\nu\ti\r\n".utf8)
        let (got, _) = try lines(ofFile: input, chunkSize: 5)
        #expect(got.map(\.bytes) == [Array("{\"user\":\"u\",\"item\":\"i\"}\r".utf8), Array("u\ti\r".utf8)])
        var decoder = try EventDecoder(format: .jsonl)
        #expect(decoder.decode(got[0].bytes, lineNumber: 1) == .event(Event(user: "u", item: "i")))
    }

    @Test func finalLineWithoutNewline() throws {
        let (got, reader) = try lines(ofFile: Array("a\nb\nlast".utf8), chunkSize: 3)
        #expect(got == expected(["a", "b", "last"]))
        #expect(reader.bytesConsumed == 8)
        let (single, _) = try lines(ofFile: Array("only".utf8), chunkSize: 1 << 20)
        #expect(single == expected(["only"]))
    }

    @Test func emptyInput() throws {
        let (none, reader) = try lines(ofFile: [], chunkSize: 16)
        #expect(none.isEmpty)
        #expect(reader.bytesRead == 0)
        let (one, _) = try lines(ofFile: [0x0A], chunkSize: 16)
        #expect(one == expected([""]))
        let (two, _) = try lines(ofFile: [0x0A, 0x0A], chunkSize: 1)
        #expect(two == expected(["", ""]))
    }

    @Test func tenMegabyteLineKeepsLineNumbers() throws {
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000_000)
        var input = Array("{\"user\":\"u1\",\"item\":\"i1\"}\n".utf8)
        input += big + [0x0A]
        input += Array("{\"user\":\"u3\",\"item\":\"i3\"}\n{\"user\":\"u4\",\"item\":\"i4\"}".utf8)
        let (got, reader) = try lines(ofFile: input, chunkSize: 1 << 20)
        #expect(got.count == 4)
        #expect(got.map(\.number) == [1, 2, 3, 4])
        #expect(got[1].bytes.count == 10_000_000 && got[1].dropped == 0)
        #expect(got[1].bytes == big)
        #expect(reader.bytesConsumed == input.count)
        var decoder = try EventDecoder(format: .jsonl)
        #expect(decoder.decode(got[0].bytes, lineNumber: 1) == .event(Event(user: "u1", item: "i1")))
        #expect(decoder.decode(got[1].bytes, lineNumber: 2) == .malformed(reason: "line is 10000000 bytes; the limit is 1048576"))
        #expect(decoder.decode(got[2].bytes, lineNumber: 3) == .event(Event(user: "u3", item: "i3")))
        #expect(decoder.decode(got[3].bytes, lineNumber: 4) == .event(Event(user: "u4", item: "i4")))
    }

    @Test func linesOverTheCapAreTruncated() throws {
        let long = (0..<1000).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let input = Array("first\n".utf8) + long + [0x0A] + Array("after\n".utf8) + long
        for chunk in [7, 64, 100, 101, 4096] {
            let (got, reader) = try lines(ofFile: input, chunkSize: chunk, maxHeld: 100)
            #expect(got.map(\.number) == [1, 2, 3, 4], "chunk \(chunk)")
            #expect(got[0] == Line(bytes: Array("first".utf8), number: 1))
            #expect(got[1] == Line(bytes: Array(long.prefix(100)), number: 2, dropped: 900), "chunk \(chunk)")
            #expect(got[2] == Line(bytes: Array("after".utf8), number: 3), "chunk \(chunk)")
            #expect(got[3] == Line(bytes: Array(long.prefix(100)), number: 4, dropped: 900), "chunk \(chunk)")
            #expect(reader.bytesConsumed == input.count)
            #expect(reader.bytesRead == input.count)
        }
    }

    @Test func pipeWithPollAndNonBlockingReads() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        let reader = LineReader(fileDescriptor: readEnd, chunkSize: 1 << 16)

        #expect(reader.waitReadable(timeoutMillis: 0) == false)
        #expect(reader.readAvailable(maxLines: 10) { _, _ in } == .wouldBlock)

        let texts = (0..<50_000).map { "event-\($0)\t\(String(repeating: "y", count: $0 % 50))" }
        let payload = Array((texts.joined(separator: "\n") + "\n").utf8)
        let writer = Thread {
            var offset = 0
            while offset < payload.count {
                let piece = min(9_999, payload.count - offset)
                let n = payload.withUnsafeBytes { write(writeEnd, $0.baseAddress! + offset, piece) }
                if n > 0 { offset += n } else if errno != EINTR { break }
            }
            close(writeEnd)
        }
        writer.start()

        var got: [Line] = []
        var sawEnd = false
        let deadline = Date().addingTimeInterval(30)
        while !sawEnd && Date() < deadline {
            guard reader.waitReadable(timeoutMillis: 1000) else { continue }
            let status = reader.readAvailable(maxLines: 500) { line, number in
                got.append(Line(bytes: Array(line), number: number))
            }
            if status == .endOfInput { sawEnd = true }
        }
        #expect(sawEnd)
        #expect(got == expected(texts))
        #expect(reader.bytesRead == payload.count)
    }

    @Test func throwingBodyCountsTheLine() throws {
        struct Stop: Error {}
        let path = try temporaryFile(Array("a\nb\nc\n".utf8))
        defer { unlink(path) }
        let reader = try LineReader(path: path)
        #expect(throws: Stop.self) {
            _ = try reader.readAvailable(maxLines: 10) { line, number in
                if number == 2 { throw Stop() }
            }
        }
        var rest: [Int] = []
        _ = reader.readAvailable(maxLines: 10) { _, number in rest.append(number) }
        #expect(rest == [3])
    }

    @Test func openFailure() {
        #expect(throws: LineReaderError.self) { try LineReader(path: "/nonexistent/dir/file") }
    }
}
