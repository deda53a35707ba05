/// A minimal JSON writer for the serve responses: strings escaped per RFC 8259, doubles
/// in Swift's shortest round-trip form (so a client parses back the very double stored in
/// the KV store), no whitespace.
struct JSONText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    mutating func string(_ value: String) {
        bytes.append(0x22)
        for b in value.utf8 {
            switch b {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }

    /// A finite double as a JSON number (non-finite values, which the store never holds, as null).
    mutating func number(_ value: Double) {
        guard value.isFinite else { raw("null"); return }
        raw("\(value)")
    }

    mutating func number(_ value: Int) { raw(String(value)) }

    mutating func key(_ name: String) { string(name); bytes.append(0x3A) }

    /// `{"error":"message"}`.
    static func error(_ message: String) -> [UInt8] {
        var j = JSONText()
        j.raw("{"); j.key("error"); j.string(message); j.raw("}")
        return j.bytes
    }
}
