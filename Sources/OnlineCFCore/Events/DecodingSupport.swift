// Byte-level helpers shared by the event decoders: UTF-8 validation, timestamp parsing,
// and quoting bytes for error messages. All of them work on raw bytes without allocating
// (except `quotedForMessage`, which only runs on the error path).

/// Failure while decoding one line; `reason` becomes ``DecodedLine/malformed(reason:)``.
struct LineFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

enum UTF8Check {
    /// Index (0-based) of the first byte of the first invalid UTF-8 sequence, or `nil`
    /// when all `count` bytes are valid UTF-8 (RFC 3629: no overlongs, no surrogates,
    /// nothing above U+10FFFF, no truncated sequences).
    static func firstInvalid(_ base: UnsafePointer<UInt8>, count n: Int) -> Int? {
        var i = 0
        while i < n {
            // ASCII fast path, 8 bytes at a time.
            while i &+ 8 <= n {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if w & 0x8080_8080_8080_8080 != 0 { break }
                i &+= 8
            }
            if i >= n { break }
            let b0 = base[i]
            if b0 < 0x80 { i &+= 1; continue }
            if b0 < 0xC2 { return i }
            if b0 < 0xE0 {
                guard i + 1 < n, base[i + 1] & 0xC0 == 0x80 else { return i }
                i &+= 2
                continue
            }
            if b0 < 0xF0 {
                guard i + 2 < n else { return i }
                let b1 = base[i + 1], b2 = base[i + 2]
                let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
                let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
                guard b1 >= lo, b1 <= hi, b2 & 0xC0 == 0x80 else { return i }
                i &+= 3
                continue
            }
            if b0 < 0xF5 {
                guard i + 3 < n else { return i }
                let b1 = base[i + 1], b2 = base[i + 2], b3 = base[i + 3]
                let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
                let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
                guard b1 >= lo, b1 <= hi, b2 & 0xC0 == 0x80, b3 & 0xC0 == 0x80 else { return i }
                i &+= 4
                continue
            }
            return i
        }
        return nil
    }
}

enum TimestampParse: Equatable {
    case millis(Int64)
    case notANumber
    case outOfRange
}

/// Timestamp rule: a decimal number `[+-]digits[.digits][(e|E)[+-]digits]` (at least one
/// mantissa digit). If its absolute value is below 100,000,000,000 it is seconds (times
/// 1000), otherwise milliseconds. The result is rounded to the nearest millisecond (halves
/// away from zero) using exact decimal arithmetic, and must fit in `Int64`.
enum TimestampParser {
    static let secondsBelow: UInt64 = 100_000_000_000

    static func parse(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int) -> TimestampParse {
        // Fast path: 1...18 plain digits.
        let len = hi - lo
        if len > 0 && len <= 18 {
            var v: UInt64 = 0
            var i = lo
            while i < hi {
                let d = base[i] &- 48
                if d > 9 { break }
                v = v &* 10 &+ UInt64(d)
                i &+= 1
            }
            if i == hi {
                return .millis(v < secondsBelow ? Int64(v) * 1000 : Int64(v))
            }
        }
        return parseGeneral(base, lo, hi)
    }

    static func parseGeneral(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int) -> TimestampParse {
        var i = lo
        var negative = false
        if i < hi && (base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+")) {
            negative = base[i] == UInt8(ascii: "-")
            i += 1
        }
        let mantissaStart = i
        var intDigits = 0
        var fracDigits = 0
        while i < hi && base[i] &- 48 <= 9 { i += 1; intDigits += 1 }
        if i < hi && base[i] == UInt8(ascii: ".") {
            i += 1
            while i < hi && base[i] &- 48 <= 9 { i += 1; fracDigits += 1 }
        }
        let mantissaEnd = i
        guard intDigits + fracDigits > 0 else { return .notANumber }
        var exponent = 0
        if i < hi && (base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < hi && (base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+")) {
                expNegative = base[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < hi && base[i] &- 48 <= 9 else { return .notANumber }
            while i < hi && base[i] &- 48 <= 9 {
                if exponent < 10_000_000 { exponent = exponent * 10 + Int(base[i] &- 48) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }
        guard i == hi else { return .notANumber }

        // Locate the first non-zero digit; value = 0.d1d2d3... x 10^P.
        var digitIndex = 0
        var firstNonZero = -1
        var j = mantissaStart
        while j < mantissaEnd {
            let c = base[j]
            if c != UInt8(ascii: ".") {
                if c != UInt8(ascii: "0") { firstNonZero = digitIndex; break }
                digitIndex += 1
            }
            j += 1
        }
        if firstNonZero < 0 { return .millis(0) }
        var p = intDigits - firstNonZero + exponent
        if p <= 11 { p += 3 }  // |value| < 1e11: seconds -> milliseconds
        if p > 19 { return .outOfRange }
        if p < 0 { return .millis(0) }
        // Integer part = first p significant digits; rounding digit = digit p.
        var magnitude: UInt64 = 0
        var taken = 0
        var roundDigit: UInt8 = 0
        var k = j  // at the first non-zero digit
        while taken <= p {
            var d: UInt8 = 0
            while k < mantissaEnd && base[k] == UInt8(ascii: ".") { k += 1 }
            if k < mantissaEnd { d = base[k] &- 48; k += 1 }
            if taken == p { roundDigit = d } else { magnitude = magnitude * 10 + UInt64(d) }
            taken += 1
        }
        if roundDigit >= 5 { magnitude += 1 }
        if negative {
            if magnitude > UInt64(Int64.max) + 1 { return .outOfRange }
            return .millis(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        if magnitude > UInt64(Int64.max) { return .outOfRange }
        return .millis(Int64(magnitude))
    }
}

/// `"bytes"` for an error message: at most 40 bytes (cut at a character boundary, then
/// `…`), with quotes, backslashes and control characters escaped.
func quotedForMessage(_ base: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int) -> String {
    var end = min(hi, lo + 40)
    if end < hi {
        while end > lo && base[end] & 0xC0 == 0x80 { end -= 1 }
    }
    let text = String(decoding: UnsafeBufferPointer(start: base + lo, count: end - lo), as: UTF8.self)
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\n": out += "\\n"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out += end < hi ? "…\"" : "\""
    return out
}

/// `"user"`, `"item"`, ... for messages.
@inline(__always)
func fieldLabel(_ field: EventField) -> String { "\"\(field.rawValue)\"" }
