/// A configuration problem that makes an ``EventDecoder`` impossible to build, e.g. a
/// column map without a `user` or `item` column.
public struct EventDecoderError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Human-readable explanation.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Decodes one input line at a time into an ``Event``, from raw bytes, without Foundation.
///
/// Guarantees: deterministic; never traps on any input; every line yields exactly one of
/// `.event`, `.skip` or `.malformed(reason:)`; produced events obey the rules documented
/// on ``Event`` (ids non-empty, valid UTF-8, at most ``maxIdBytes`` bytes). The decoder is a
/// value with a little state (whether the first line, possibly a header, has been seen, and
/// the `.inter` column map read from the header), so use one decoder per input stream.
///
/// ## Event format
///
/// **All formats**
/// - The line reader removes the `\n`; the decoder removes one trailing `\r` (CRLF input).
/// - A line that is empty or only spaces/tabs is skipped.
/// - A line longer than 1,048,576 bytes (``maxLineBytes``) is malformed and not parsed.
/// - The whole line must be valid UTF-8 (`invalid UTF-8 at byte N`, bytes counted from 1).
/// - Ids (`user`, `item`, `author`, `action`) are opaque strings of 1...512 bytes; they are
///   never trimmed, normalised or parsed as numbers. `user` and `item` are required;
///   `author` and `action` are optional, and empty counts as absent.
/// - Timestamps (`ts`): a decimal number, optionally signed, with optional fraction and
///   exponent (`881250949`, `1700000000123`, `-5`, `8.8125e8`, `1.5`). If its absolute
///   value is below 100,000,000,000 it is **seconds**, otherwise **milliseconds**
///   (1e11 s is the year 5138; 1e11 ms is 1973). It is converted to integer milliseconds,
///   rounded to nearest (halves away from zero), exactly (no floating point). NaN,
///   infinities, other text, or a result outside `Int64` are malformed. `ts` is optional.
///
/// **jsonl**: one JSON object per line, e.g.
/// `{"user":"u1","item":"i2","author":"a3","action":"click","ts":1700000000123}`.
/// - Keys `user`, `item`, `author`, `action`, `ts`; any other key is ignored and its value
///   (any JSON value, nested objects and arrays included) is skipped after a syntax check.
/// - `user`/`item`/`author`/`action` may be a JSON string or a JSON number; a number is
///   taken as its literal text (`42` and `"42"` are the id `42`; `4.20` stays `4.20`).
///   `null` means absent. `true`/`false`/objects/arrays are malformed.
/// - `ts` is a JSON number, a string holding a number, or `null` (absent).
/// - Strings support every JSON escape, including `\uXXXX` and surrogate pairs; a lone
///   surrogate, a bad escape or a raw control character is malformed.
/// - Duplicate keys: the last one wins (also when it is `null`).
/// - Whitespace around tokens is allowed; anything but whitespace after the closing `}`
///   is malformed. Nesting deeper than 64 levels is malformed.
///
/// **tsv**: tab-separated fields in the order of `columns` (default
/// `user, item, author, action, ts`).
/// - Trailing optional columns may be missing; columns beyond the map are ignored; an
///   empty field is absent; an `ignore` column is skipped. No quoting or escaping: ids may
///   contain spaces but not tabs or newlines; fields are not trimmed (except around `ts`).
/// - If the first non-blank line's fields are exactly the column names of the map
///   (`user\titem\tauthor\taction\tts`; an `ignore` column matches any name), it is a
///   header and is skipped.
///
/// **inter** (RecBole atomic `.inter`): tab-separated, with a typed header on the first
/// non-blank line, e.g. `user_id:token\titem_id:token\trating:float\ttimestamp:float`.
/// - A header is a line where some field is `name:type` with type `token`, `token_seq`,
///   `float` or `float_seq`. It is skipped. Columns are mapped by the name before the last
///   colon, case-insensitively: `user_id`/`user` → user, `item_id`/`item` → item,
///   `author_id`/`author`/`creator_id` → author, `action`/`event_type`/`behavior` → action,
///   `timestamp`/`ts`/`time` → ts; anything else (e.g. `rating`) is ignored; if two columns
///   map to the same field the first wins.
/// - If `columns` is given it replaces the header's mapping (a typed header line is still
///   skipped; an untyped first line is then decoded as data).
/// - Without `columns`, a missing header, or a header without a user or item column, makes
///   the first line malformed and every later line malformed too (see ``headerProblem``).
/// - Data lines follow the tsv rules above.
public struct EventDecoder: Sendable {
    /// Longest id, in UTF-8 bytes.
    public static let maxIdBytes = 512
    /// Longest line, in bytes (before removing `\r`); longer lines are malformed.
    public static let maxLineBytes = 1 << 20
    /// Deepest JSON nesting accepted inside skipped values.
    public static let maxJSONDepth = 64

    /// The format being decoded.
    public let format: EventFormat
    /// The column map in effect for `tsv`/`inter` (`nil` for `jsonl`, and for `inter`
    /// until the header has been read).
    public private(set) var columns: [EventField]?
    /// Set when an `.inter` header is missing or unusable; every data line is then
    /// malformed with this reason. Callers may prefer to stop the run.
    public private(set) var headerProblem: String?

    private let columnsGiven: Bool
    private var sawFirstLine = false
    /// Reusable buffer for strings with escapes and other slow paths.
    var scratch: [UInt8] = []

    /// The default tsv column order.
    public static let defaultColumns: [EventField] = [.user, .item, .author, .action, .ts]

    /// - Parameters:
    ///   - format: the line format.
    ///   - columns: column map for `tsv` (default ``defaultColumns``) or `inter` (default:
    ///     read from the header). Must contain `user` and `item` exactly once, and
    ///     `author`/`action`/`ts` at most once. Not allowed for `jsonl`.
    public init(format: EventFormat, columns: [EventField]? = nil) throws(EventDecoderError) {
        self.format = format
        self.columnsGiven = columns != nil
        if let columns {
            if format == .jsonl {
                throw EventDecoderError("a column map applies only to the tsv and inter formats")
            }
            try Self.validate(columns)
            self.columns = columns
        } else if format == .tsv {
            self.columns = Self.defaultColumns
        }
        scratch.reserveCapacity(256)
    }

    static func validate(_ columns: [EventField]) throws(EventDecoderError) {
        for field in EventField.allCases where field != .ignore {
            let n = columns.lazy.filter { $0 == field }.count
            if n > 1 {
                throw EventDecoderError("the column map names \(field.rawValue) \(n) times")
            }
            if n == 0 && (field == .user || field == .item) {
                throw EventDecoderError("the column map has no \(field.rawValue) column")
            }
        }
    }

    /// Decodes one line (without its `\n`).
    /// - Parameter lineNumber: 1-based, counting every line of the input, header included.
    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) -> DecodedLine {
        if line.count > Self.maxLineBytes {
            return .malformed(reason: "line is \(line.count) bytes; the limit is \(Self.maxLineBytes)")
        }
        guard let base = line.baseAddress else { return .skip }
        var n = line.count
        if n > 0 && base[n - 1] == UInt8(ascii: "\r") { n -= 1 }
        var k = 0
        while k < n && (base[k] == UInt8(ascii: " ") || base[k] == UInt8(ascii: "\t")) { k += 1 }
        if k == n { return .skip }
        if let bad = UTF8Check.firstInvalid(base, count: n) {
            return .malformed(reason: "invalid UTF-8 at byte \(bad + 1)")
        }
        let first = !sawFirstLine
        sawFirstLine = true
        do throws(LineFailure) {
            switch format {
            case .jsonl:
                return .event(try decodeJSON(base, n))
            case .tsv:
                let map = columns ?? Self.defaultColumns
                if first && Self.isPlainHeader(base, n, map) { return .skip }
                return .event(try decodeTabular(base, n, map))
            case .inter:
                if first {
                    if let header = try interHeader(base, n, lineNumber: lineNumber) { return header }
                }
                if let headerProblem { throw LineFailure(headerProblem) }
                guard let map = columns else {
                    throw LineFailure("no .inter column map")  // unreachable: set above
                }
                return .event(try decodeTabular(base, n, map))
            }
        } catch {
            return .malformed(reason: error.reason)
        }
    }

    /// Convenience for tests and small inputs.
    public mutating func decode(_ line: [UInt8], lineNumber: Int) -> DecodedLine {
        line.withUnsafeBufferPointer { decode($0, lineNumber: lineNumber) }
    }

    /// Convenience: decodes the UTF-8 bytes of `line`.
    public mutating func decode(_ line: String, lineNumber: Int) -> DecodedLine {
        decode(Array(line.utf8), lineNumber: lineNumber)
    }

    // MARK: - Tab-separated data

    /// Splits on tabs and fills an event according to `map`.
    private func decodeTabular(
        _ base: UnsafePointer<UInt8>, _ n: Int, _ map: [EventField]
    ) throws(LineFailure) -> Event {
        var user: String?
        var item: String?
        var author: String?
        var action: String?
        var ts: Int64?
        var userColumn = 0
        var itemColumn = 0
        var fieldStart = 0
        var column = 0
        let columnCount = map.count
        while column < columnCount {
            var j = fieldStart
            while j < n && base[j] != UInt8(ascii: "\t") { j &+= 1 }
            let field = map[column]
            let len = j - fieldStart
            switch field {
            case .ignore:
                break
            case .ts:
                var lo = fieldStart
                var hi = j
                while lo < hi && base[lo] == UInt8(ascii: " ") { lo += 1 }
                while hi > lo && base[hi - 1] == UInt8(ascii: " ") { hi -= 1 }
                if hi > lo { ts = try Self.timestamp(base, lo, hi) }
            case .user, .item, .author, .action:
                if field == .user { userColumn = column + 1 }
                if field == .item { itemColumn = column + 1 }
                if len > Self.maxIdBytes { throw Self.tooLong(field, len) }
                if len > 0 {
                    let s = String(decoding: UnsafeBufferPointer(start: base + fieldStart, count: len), as: UTF8.self)
                    switch field {
                    case .user: user = s
                    case .item: item = s
                    case .author: author = s
                    default: action = s
                    }
                }
            }
            column += 1
            if j >= n { break }
            fieldStart = j + 1
        }
        guard let user else { throw Self.missingColumn(.user, userColumn, map) }
        guard let item else { throw Self.missingColumn(.item, itemColumn, map) }
        return Event(user: user, item: item, author: author, action: action, timestampMillis: ts)
    }

    private static func missingColumn(_ field: EventField, _ seen: Int, _ map: [EventField]) -> LineFailure {
        let position = (map.firstIndex(of: field) ?? 0) + 1
        if seen > 0 { return LineFailure("missing \(fieldLabel(field)): column \(position) is empty") }
        return LineFailure("missing \(fieldLabel(field)): the line has no column \(position)")
    }

    static func tooLong(_ field: EventField, _ len: Int) -> LineFailure {
        LineFailure("\(fieldLabel(field)) is \(len) bytes; ids are at most \(maxIdBytes)")
    }

    static func timestamp(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int) throws(LineFailure) -> Int64 {
        switch TimestampParser.parse(base, lo, hi) {
        case .millis(let v): return v
        case .notANumber:
            throw LineFailure("\"ts\" is not a number: \(quotedForMessage(base, lo, hi))")
        case .outOfRange:
            throw LineFailure("\"ts\" is out of range: \(quotedForMessage(base, lo, hi))")
        }
    }

    /// True when the fields of the line are exactly the names of `map` (tsv header).
    private static func isPlainHeader(_ base: UnsafePointer<UInt8>, _ n: Int, _ map: [EventField]) -> Bool {
        var fieldStart = 0
        var column = 0
        var required = 0
        for (index, field) in map.enumerated() where field == .user || field == .item {
            required = max(required, index + 1)
        }
        while column < map.count {
            var j = fieldStart
            while j < n && base[j] != UInt8(ascii: "\t") { j += 1 }
            if map[column] != .ignore {
                let name = map[column].rawValue.utf8
                if name.count != j - fieldStart { return false }
                var k = fieldStart
                for byte in name {
                    if base[k] != byte { return false }
                    k += 1
                }
            }
            column += 1
            if j >= n { break }
            fieldStart = j + 1
        }
        return column >= required
    }

    // MARK: - .inter header

    /// Handles the first line of an `.inter` input. Returns `.skip` for a header, a
    /// `.malformed` result for an unusable header, or `nil` when the line is data.
    private mutating func interHeader(
        _ base: UnsafePointer<UInt8>, _ n: Int, lineNumber: Int
    ) throws(LineFailure) -> DecodedLine? {
        let text = String(decoding: UnsafeBufferPointer(start: base, count: n), as: UTF8.self)
        let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
        var names: [Substring] = []
        var typed = false
        for field in fields {
            if let colon = field.lastIndex(of: ":") {
                let type = field[field.index(after: colon)...].lowercased()
                if type == "token" || type == "float" || type == "token_seq" || type == "float_seq" {
                    typed = true
                }
                names.append(field[..<colon])
            } else {
                names.append(field)
            }
        }
        if columnsGiven {
            return typed ? .skip : nil
        }
        guard typed else {
            let problem = "missing .inter header: line \(lineNumber) should be a typed header like "
                + "\"user_id:token<TAB>item_id:token<TAB>timestamp:float\""
            headerProblem = "no usable .inter header (" + problem + ")"
            return .malformed(reason: problem)
        }
        var map: [EventField] = []
        for name in names {
            var field: EventField
            switch name.lowercased() {
            case "user_id", "user": field = .user
            case "item_id", "item": field = .item
            case "author_id", "author", "creator_id": field = .author
            case "action", "event_type", "behavior": field = .action
            case "timestamp", "ts", "time": field = .ts
            default: field = .ignore
            }
            if map.contains(field) { field = .ignore }
            map.append(field)
        }
        for needed in [EventField.user, .item] where !map.contains(needed) {
            let expected = needed == .user ? "user_id or user" : "item_id or item"
            let problem = ".inter header has no \(needed.rawValue) column (expected \(expected)): "
                + quotedForMessage(base, 0, n)
            headerProblem = "no usable .inter header (" + problem + ")"
            return .malformed(reason: problem)
        }
        columns = map
        return .skip
    }
}
