extension EventGenerator {
    /// The event as one jsonl object (no trailing newline), keys in the order
    /// `user, item, author, action, ts`, absent fields omitted, e.g.
    /// `{"user":"u1","item":"i2","author":"a3","action":"click","ts":1700000000123}`.
    /// Strings are escaped per RFC 8259 (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other
    /// controls as `\u00XX`; non-ASCII as raw UTF-8), so the line round-trips through
    /// ``EventDecoder`` with format `.jsonl`.
    public static func jsonLine(_ event: Event) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(96)
        appendJSON(event, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``jsonLine(_:)`` followed by `\n` to `buffer`.
    public static func appendJSONLine(_ event: Event, to buffer: inout [UInt8]) {
        appendJSON(event, to: &buffer)
        buffer.append(0x0A)
    }

    /// Appends ``jsonLine(_:)`` (no newline) to `buffer`.
    public static func appendJSON(_ event: Event, to buffer: inout [UInt8]) {
        appendRaw("{\"user\":", &buffer)
        appendString(event.user, &buffer)
        appendRaw(",\"item\":", &buffer)
        appendString(event.item, &buffer)
        if let author = event.author {
            appendRaw(",\"author\":", &buffer)
            appendString(author, &buffer)
        }
        if let action = event.action {
            appendRaw(",\"action\":", &buffer)
            appendString(action, &buffer)
        }
        if let ts = event.timestampMillis {
            appendRaw(",\"ts\":", &buffer)
            appendInteger(ts, &buffer)
        }
        buffer.append(UInt8(ascii: "}"))
    }

    @inline(__always)
    private static func appendRaw(_ s: StaticString, _ buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private static func appendInteger(_ v: Int64, _ buffer: inout [UInt8]) {
        if v < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of stack
        withUnsafeMutableBytes(of: &digits) { raw in
            var k = 24
            repeat {
                k -= 1
                raw[k] = UInt8(48 + magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            buffer.append(contentsOf: raw[k...])
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    private static func appendString(_ s: String, _ buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            for (k, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<k]))
                runStart = k + 1
                buffer.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): buffer.append(c)
                case 0x0A: buffer.append(UInt8(ascii: "n"))
                case 0x0D: buffer.append(UInt8(ascii: "r"))
                case 0x09: buffer.append(UInt8(ascii: "t"))
                case 0x08: buffer.append(UInt8(ascii: "b"))
                case 0x0C: buffer.append(UInt8(ascii: "f"))
                default:
                    appendRaw("u00", &buffer)
                    buffer.append(hexDigits.utf8Start[Int(c >> 4)])
                    buffer.append(hexDigits.utf8Start[Int(c & 0xF)])
                }
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        buffer.append(UInt8(ascii: "\""))
    }
}
