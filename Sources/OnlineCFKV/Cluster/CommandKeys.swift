/// Which arguments of a command are keys, so that a cluster client can route the command
/// to the node owning their hash slot.
///
/// Guarantees:
/// - `positions` are indices into `RedisCommand.arguments` (0 is the command name), in
///   argument order, always within bounds; empty means the command is keyless (any node
///   can answer it).
/// - Command names and the `STREAMS` keyword are matched case-insensitively.
/// - Rules: keyless for server/connection commands (PING, INFO, MULTI, EXEC, SCAN,
///   CONFIG, CLUSTER, …, `MEMORY STATS`) and for commands without arguments; the key at
///   argument 2 for XGROUP, XINFO, OBJECT and `MEMORY USAGE`; the keys after `STREAMS`
///   (first half of the rest) for XREAD/XREADGROUP; `numkeys` at argument 2 followed by
///   the keys for EVAL/EVALSHA/EVAL_RO/EVALSHA_RO/FCALL/FCALL_RO; every argument for
///   DEL, UNLINK, EXISTS, TOUCH and MGET; otherwise argument 1.
/// - `split` is non-nil exactly for DEL, UNLINK, EXISTS, TOUCH (integer replies summed)
///   and MGET (array replies merged): commands whose keys may be split per slot without
///   changing the reply a single server would give.
public struct CommandKeys: Sendable, Equatable {
    /// How the replies of a command split per slot are combined.
    public enum Split: Sendable, Equatable {
        /// One integer per part; the reply is their sum (DEL, UNLINK, EXISTS, TOUCH).
        case sumIntegers
        /// One array per part with one element per key; the reply lists the elements in
        /// the original key order (MGET).
        case mergeArrays
    }

    /// Argument indices holding keys; empty for keyless commands.
    public let positions: [Int]
    /// Non-nil when the command may be split into one command per slot.
    public let split: Split?

    /// True when the command has no keys and may be sent to any node.
    public var isKeyless: Bool { positions.isEmpty }

    /// Works out the key positions of `command`.
    public init(_ command: RedisCommand) {
        let arguments = command.arguments
        let count = arguments.count
        guard count > 1 else {
            positions = []
            split = nil
            return
        }
        let name = command.name
        split = name == "MGET" ? .mergeArrays : Self.summed.contains(name) ? .sumIntegers : nil
        if Self.keyless.contains(name) {
            positions = []
            return
        }
        switch name {
        case "XGROUP", "XINFO", "OBJECT":
            positions = count > 2 ? [2] : []
        case "MEMORY":
            positions = count > 2 && Self.upper(arguments[1]) == "USAGE" ? [2] : []
        case "XREAD", "XREADGROUP":
            guard let streams = (1..<count).first(where: { Self.upper(arguments[$0]) == "STREAMS" }) else {
                positions = []
                return
            }
            let keyCount = (count - streams - 1) / 2
            positions = Array((streams + 1)..<(streams + 1 + keyCount))
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard count > 2, let keyCount = Int(String(decoding: arguments[2], as: UTF8.self)), keyCount > 0 else {
                positions = []
                return
            }
            positions = Array(3..<min(count, 3 + keyCount))
        case "DEL", "UNLINK", "EXISTS", "TOUCH", "MGET":
            positions = Array(1..<count)
        default:
            positions = [1]
        }
    }

    /// The distinct hash slots of the command's keys, in order of first appearance.
    public func slots(of command: RedisCommand) -> [HashSlot] {
        var slots: [HashSlot] = []
        for position in positions {
            let slot = HashSlot(key: command.arguments[position])
            if !slots.contains(slot) { slots.append(slot) }
        }
        return slots
    }

    /// Multi-key commands whose integer replies add up when split per slot.
    static let summed: Set<String> = ["DEL", "UNLINK", "EXISTS", "TOUCH"]

    /// Commands that take no key, answered by any node.
    static let keyless: Set<String> = [
        "PING", "INFO", "MULTI", "EXEC", "DISCARD", "SCAN", "DBSIZE", "FLUSHALL", "FLUSHDB",
        "CONFIG", "SAVE", "BGSAVE", "BGREWRITEAOF", "LASTSAVE", "CLUSTER", "COMMAND", "CLIENT",
        "SELECT", "AUTH", "HELLO", "WAIT", "TIME", "SCRIPT", "FUNCTION", "READONLY", "READWRITE",
        "ASKING", "SHUTDOWN", "DEBUG", "SLOWLOG", "LATENCY", "ECHO", "KEYS", "RANDOMKEY",
        "ROLE", "ACL", "MODULE", "QUIT", "RESET", "UNWATCH", "PUBLISH", "LOLWUT",
    ]

    private static func upper(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).uppercased()
    }
}
