#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writes to standard output. When the reader goes away (`onlinecf export |
/// head`), the process exits quietly with status 0, as Unix filters do.
public struct StandardOutput {
    private var buffer: [UInt8] = []
    public init() { buffer.reserveCapacity(1 << 16) }

    public mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    public mutating func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    public mutating func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }
                stderrLine("onlinecf: cannot write to standard output: \(String(cString: strerror(errno)))")
                exit(1)
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
