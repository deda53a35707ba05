/// A decoded Redis reply.
///
/// Guarantees: bulk strings are kept as raw bytes (binary-safe, never re-encoded);
/// `null` represents both the RESP2 null bulk string and null array. Server error
/// replies are values (`.error`), not thrown errors, so pipelines can carry them.
public enum RESPValue: Sendable, Equatable {
    /// `+OK` style status reply.
    case simpleString(String)
    /// `-ERR …` error reply; the payload is the full error text.
    case error(String)
    /// `:42` integer reply.
    case integer(Int64)
    /// `$n` bulk string, raw bytes.
    case bulkString([UInt8])
    /// Null bulk string or null array (`$-1`, `*-1`).
    case null
    /// `*n` array of nested replies.
    case array([RESPValue])

    /// The text of a bulk or simple string, decoded as UTF-8 (invalid sequences repaired).
    public var string: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// The raw bytes of a bulk or simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let b): return b
        case .simpleString(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// The value of an integer reply, or of a bulk/simple string that holds a decimal integer.
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulkString, .simpleString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// A bulk/simple string parsed as a floating-point number (Redis formats: `1.5`,
    /// `inf`, `-inf`, `1e+20`), or an integer reply converted to `Double`.
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .bulkString, .simpleString:
            guard let s = string else { return nil }
            switch s.lowercased() {
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            default: return Double(s)
            }
        default: return nil
        }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// True for an error reply.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// The text of an error reply.
    public var errorMessage: String? {
        if case .error(let e) = self { return e }
        return nil
    }

    /// True for a null reply.
    public var isNull: Bool { self == .null }
}
