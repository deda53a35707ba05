// The jsonl decoder: a single-pass, allocation-free (except for the output strings) JSON
// object scanner over raw bytes. The line has already been checked to be valid UTF-8.

private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

extension EventDecoder {
    mutating func decodeJSON(_ base: UnsafePointer<UInt8>, _ n: Int) throws(LineFailure) -> Event {
        var parser = JSONLineParser(base: base, n: n)
        swap(&parser.scratch, &scratch)
        defer { swap(&parser.scratch, &scratch) }
        return try parser.parseEvent()
    }
}

private enum JSONKey {
    case field(EventField)
    case other
}

/// A cursor over one line holding a JSON object.
struct JSONLineParser {
    let base: UnsafePointer<UInt8>
    let n: Int
    var i = 0
    var scratch: [UInt8] = []

    init(base: UnsafePointer<UInt8>, n: Int) {
        self.base = base
        self.n = n
    }

    // MARK: errors

    func syntax(_ what: String, at position: Int? = nil) -> LineFailure {
        let at = position ?? i
        if at >= n { return LineFailure("invalid JSON: unexpected end of line, \(what)") }
        return LineFailure("invalid JSON at byte \(at + 1): \(what)")
    }

    // MARK: scanning

    @inline(__always)
    mutating func skipWhitespace() {
        while i < n {
            let c = base[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i &+= 1 } else { return }
        }
    }

    mutating func parseEvent() throws(LineFailure) -> Event {
        var user: String?
        var item: String?
        var author: String?
        var action: String?
        var ts: Int64?
        skipWhitespace()
        guard i < n, base[i] == UInt8(ascii: "{") else {
            throw LineFailure("expected a JSON object")
        }
        i += 1
        skipWhitespace()
        if i < n && base[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipWhitespace()
                guard i < n, base[i] == quote else { throw syntax("expected '\"' to start a key") }
                let key = try parseKey()
                skipWhitespace()
                guard i < n, base[i] == UInt8(ascii: ":") else { throw syntax("expected ':'") }
                i += 1
                skipWhitespace()
                switch key {
                case .field(.user): user = try parseId(.user)
                case .field(.item): item = try parseId(.item)
                case .field(.author): author = try parseId(.author)
                case .field(.action): action = try parseId(.action)
                case .field(.ts): ts = try parseTimestamp()
                case .field(.ignore), .other: try skipValue(depth: 1)
                }
                skipWhitespace()
                guard i < n else { throw syntax("expected ',' or '}'") }
                if base[i] == UInt8(ascii: ",") { i += 1; continue }
                if base[i] == UInt8(ascii: "}") { i += 1; break }
                throw syntax("expected ',' or '}'")
            }
        }
        skipWhitespace()
        if i < n {
            throw LineFailure("unexpected data after the JSON object at byte \(i + 1)")
        }
        guard let user else { throw LineFailure("missing \"user\"") }
        guard let item else { throw LineFailure("missing \"item\"") }
        if user.isEmpty { throw LineFailure("\"user\" is empty") }
        if item.isEmpty { throw LineFailure("\"item\" is empty") }
        if author?.isEmpty == true { author = nil }
        if action?.isEmpty == true { action = nil }
        return Event(user: user, item: item, author: author, action: action, timestampMillis: ts)
    }

    // MARK: keys

    private mutating func parseKey() throws(LineFailure) -> JSONKey {
        let (lo, hi, escaped) = try scanString()
        if escaped {
            return scratch.withUnsafeBufferPointer { buffer in
                Self.classify(buffer.baseAddress!, 0, buffer.count)
            }
        }
        return Self.classify(base, lo, hi)
    }

    private static func classify(_ p: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int) -> JSONKey {
        @inline(__always) func eq(_ s: StaticString) -> Bool {
            guard s.utf8CodeUnitCount == hi - lo else { return false }
            let q = s.utf8Start
            for k in 0..<(hi - lo) where p[lo + k] != q[k] { return false }
            return true
        }
        switch hi - lo {
        case 2: return eq("ts") ? .field(.ts) : .other
        case 4: return eq("user") ? .field(.user) : eq("item") ? .field(.item) : .other
        case 6: return eq("author") ? .field(.author) : eq("action") ? .field(.action) : .other
        default: return .other
        }
    }

    // MARK: values

    /// An id value: string, number (literal text) or null (nil). Checks the length.
    private mutating func parseId(_ field: EventField) throws(LineFailure) -> String? {
        guard i < n else { throw syntax("expected a value") }
        let c = base[i]
        switch c {
        case quote:
            let (lo, hi, escaped) = try scanString()
            if escaped {
                if scratch.count > EventDecoder.maxIdBytes { throw EventDecoder.tooLong(field, scratch.count) }
                return String(decoding: scratch, as: UTF8.self)
            }
            if hi - lo > EventDecoder.maxIdBytes { throw EventDecoder.tooLong(field, hi - lo) }
            return String(decoding: UnsafeBufferPointer(start: base + lo, count: hi - lo), as: UTF8.self)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let lo = i
            try scanNumber()
            if i - lo > EventDecoder.maxIdBytes { throw EventDecoder.tooLong(field, i - lo) }
            return String(decoding: UnsafeBufferPointer(start: base + lo, count: i - lo), as: UTF8.self)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return nil
        default:
            let start = i
            try skipValue(depth: 1)
            throw LineFailure("\(fieldLabel(field)) must be a string or a number, not \(describeValue(at: start))")
        }
    }

    private func describeValue(at position: Int) -> String {
        switch base[position] {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"): return "true"
        default: return "false"
        }
    }

    private mutating func parseTimestamp() throws(LineFailure) -> Int64? {
        guard i < n else { throw syntax("expected a value") }
        switch base[i] {
        case quote:
            let (lo, hi, escaped) = try scanString()
            if escaped {
                return try scratch.withUnsafeBufferPointer { (b) throws(LineFailure) -> Int64 in
                    try EventDecoder.timestamp(b.baseAddress!, 0, b.count)
                }
            }
            return try EventDecoder.timestamp(base, lo, hi)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let lo = i
            try scanNumber()
            return try EventDecoder.timestamp(base, lo, i)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return nil
        default:
            let start = i
            try skipValue(depth: 1)
            throw LineFailure("\"ts\" must be a number or a numeric string, not \(describeValue(at: start))")
        }
    }

    private mutating func expectLiteral(_ word: StaticString) throws(LineFailure) {
        let len = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard i + len <= n else { throw syntax("expected a value") }
        for k in 0..<len where base[i + k] != w[k] { throw syntax("expected a value") }
        i += len
    }

    /// Strict JSON number grammar; leaves `i` after the number.
    private mutating func scanNumber() throws(LineFailure) {
        let start = i
        if base[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n, base[i] &- 48 <= 9 else { throw syntax("invalid number", at: start) }
        if base[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < n && base[i] &- 48 <= 9 { i &+= 1 }
        }
        if i < n && base[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, base[i] &- 48 <= 9 else { throw syntax("invalid number", at: start) }
            while i < n && base[i] &- 48 <= 9 { i &+= 1 }
        }
        if i < n && (base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < n, base[i] &- 48 <= 9 else { throw syntax("invalid number", at: start) }
            while i < n && base[i] &- 48 <= 9 { i &+= 1 }
        }
    }

    /// Scans a string starting at the opening quote. Without escapes returns the raw
    /// content range; with escapes the decoded content is in `scratch` and `escaped` is true.
    private mutating func scanString() throws(LineFailure) -> (lo: Int, hi: Int, escaped: Bool) {
        let openQuote = i
        i += 1
        let lo = i
        while i < n {
            let c = base[i]
            if c == quote {
                i += 1
                return (lo, i - 1, false)
            }
            if c == backslash { break }
            if c < 0x20 { throw syntax("control character in string") }
            i &+= 1
        }
        guard i < n else { throw syntax("unterminated string", at: openQuote) }
        // Slow path: decode escapes into scratch.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: base + lo, count: i - lo))
        while i < n {
            let c = base[i]
            if c == quote {
                i += 1
                return (lo, i - 1, true)
            }
            if c < 0x20 { throw syntax("control character in string") }
            if c != backslash {
                scratch.append(c)
                i &+= 1
                continue
            }
            let escapeStart = i
            i += 1
            guard i < n else { break }
            let e = base[i]
            i += 1
            switch e {
            case quote, backslash, UInt8(ascii: "/"): scratch.append(e)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(escapeStart)
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard i + 1 < n, base[i] == backslash, base[i + 1] == UInt8(ascii: "u") else {
                        throw syntax("lone surrogate in \\u escape", at: escapeStart)
                    }
                    i += 2
                    let low = try hex4(escapeStart)
                    guard low >= 0xDC00 && low < 0xE000 else {
                        throw syntax("lone surrogate in \\u escape", at: escapeStart)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw syntax("lone surrogate in \\u escape", at: escapeStart)
                }
                appendUTF8(scalar)
            default:
                throw syntax("invalid escape", at: escapeStart)
            }
        }
        throw syntax("unterminated string", at: openQuote)
    }

    private mutating func hex4(_ escapeStart: Int) throws(LineFailure) -> UInt32 {
        guard i + 4 <= n else { throw syntax("invalid \\u escape", at: escapeStart) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - 55
            default: throw syntax("invalid \\u escape", at: escapeStart)
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case ..<0x80:
            scratch.append(UInt8(v))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | v >> 6))
            scratch.append(UInt8(0x80 | v & 0x3F))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | v >> 12))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | v >> 18))
            scratch.append(UInt8(0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }

    /// Skips (and syntax-checks) any JSON value.
    private mutating func skipValue(depth: Int) throws(LineFailure) {
        guard i < n else { throw syntax("expected a value") }
        switch base[i] {
        case quote:
            _ = try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let isObject = base[i] == UInt8(ascii: "{")
            let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            if depth > EventDecoder.maxJSONDepth {
                throw syntax("nesting deeper than \(EventDecoder.maxJSONDepth) levels")
            }
            i += 1
            skipWhitespace()
            if i < n && base[i] == close { i += 1; return }
            while true {
                skipWhitespace()
                if isObject {
                    guard i < n, base[i] == quote else { throw syntax("expected '\"' to start a key") }
                    _ = try scanString()
                    skipWhitespace()
                    guard i < n, base[i] == UInt8(ascii: ":") else { throw syntax("expected ':'") }
                    i += 1
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard i < n else { throw syntax(isObject ? "expected ',' or '}'" : "expected ',' or ']'") }
                if base[i] == UInt8(ascii: ",") { i += 1; continue }
                if base[i] == close { i += 1; return }
                throw syntax(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        default:
            throw syntax("expected a value")
        }
    }
}
