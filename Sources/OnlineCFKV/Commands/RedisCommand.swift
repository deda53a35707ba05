/// One Redis command: its name followed by binary-safe arguments.
///
/// Guarantees: arguments are sent byte-for-byte (NUL, CR/LF and non-UTF-8 bytes are
/// fine); `description` shows only the command name and its first argument (usually
/// the key), never further arguments, and masks everything after `AUTH`, so it is
/// safe to put into logs and error messages.
public struct RedisCommand: Sendable, CustomStringConvertible {
    /// All arguments including the command name as the first element.
    public var arguments: [[UInt8]]

    /// Builds `name args…`.
    public init(_ name: String, _ args: any RedisArgument...) {
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(args.count + 1)
        arguments.append(Array(name.utf8))
        for arg in args { arguments.append(arg.redisBytes) }
        self.arguments = arguments
    }

    /// Builds a command from raw arguments (the first one is the command name).
    public init(arguments: [[UInt8]]) {
        self.arguments = arguments
    }

    /// Appends one argument.
    public mutating func append(_ arg: any RedisArgument) {
        arguments.append(arg.redisBytes)
    }

    /// Appends raw bytes (no existential boxing).
    public mutating func append(bytes: [UInt8]) {
        arguments.append(bytes)
    }

    /// Appends a string as UTF-8.
    public mutating func append(string: String) {
        arguments.append(Array(string.utf8))
    }

    /// Appends an integer in decimal.
    public mutating func append(int: Int) {
        arguments.append(Array(String(int).utf8))
    }

    /// Appends a double in its shortest round-trip form (`inf`/`-inf` for infinities).
    public mutating func append(double: Double) {
        arguments.append(double.redisBytes)
    }

    /// Reserves room for `count` more arguments.
    public mutating func reserveCapacity(_ count: Int) {
        arguments.reserveCapacity(arguments.count + count)
    }

    /// The command name in upper case, e.g. `ZADD`.
    public var name: String {
        guard let first = arguments.first else { return "" }
        return String(decoding: first, as: UTF8.self).uppercased()
    }

    /// Total payload size in bytes (sum of argument lengths).
    public var byteCount: Int {
        var total = 0
        for a in arguments { total += a.count }
        return total
    }

    /// `NAME firstArgument` with the argument shortened and non-printable bytes escaped;
    /// `AUTH ***` for authentication commands.
    public var description: String {
        let name = self.name
        guard arguments.count > 1 else { return name }
        if name == "AUTH" { return "AUTH ***" }
        if name == "HELLO" { return "HELLO" }
        return name + " " + Self.printable(arguments[1], limit: 64)
    }

    static func printable(_ bytes: [UInt8], limit: Int) -> String {
        var out = ""
        for (i, b) in bytes.enumerated() {
            if i >= limit { out += "…"; break }
            switch b {
            case 0x20..<0x7f where b != UInt8(ascii: "\\"): out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: "\\"): out += "\\\\"
            default:
                let hex = String(b, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
