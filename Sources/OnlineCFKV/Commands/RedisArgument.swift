/// A value that can be sent as one Redis command argument.
///
/// Guarantees: `redisBytes` is the exact byte string sent on the wire; numbers use the
/// textual forms Redis parses (`Double` round-trips exactly, infinities are `inf`/`-inf`).
public protocol RedisArgument: Sendable {
    /// The argument's bytes as sent to the server.
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}

extension ArraySlice: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { Array(self) }
}

extension Int: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension UInt64: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgument {
    /// Shortest representation that parses back to the same `Double` (Swift's
    /// `description`), with `inf` / `-inf` for infinities as Redis expects.
    public var redisBytes: [UInt8] {
        if isInfinite { return self < 0 ? Array("-inf".utf8) : Array("inf".utf8) }
        return Array(description.utf8)
    }
}
