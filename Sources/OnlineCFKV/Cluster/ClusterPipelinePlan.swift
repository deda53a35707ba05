/// How a pipeline is sent to a Redis Cluster: the commands cut into units that each go
/// to one node, and how the units' replies are put back together. Pure value, no I/O.
///
/// Guarantees:
/// - Every command belongs to exactly one unit, or (a cross-slot DEL/UNLINK/EXISTS/TOUCH
///   or MGET) is split into one unit per slot. A `MULTI … EXEC` (or `… DISCARD`) block is
///   one unit whose keys must all hash to one slot — otherwise `init` throws a
///   `.serverError` whose message starts with `CROSSSLOT`, names the keys' slots and
///   suggests a hash tag; nothing is sent then. An unterminated `MULTI` takes the rest
///   of the pipeline into its unit. Keyless commands are units with `slot == nil`.
/// - Units are numbered in pipeline order; `batches` groups units per node keeping that
///   order within each node.
/// - `assemble` returns exactly one reply per original command, in the caller's order,
///   equal to what a single server would have answered: split integer replies are summed,
///   split MGET replies are merged back into key order, and an error reply of any part
///   becomes the reply of the whole command.
public struct ClusterPipelinePlan: Sendable {
    /// Commands sent together to the node owning `slot` (any node when nil).
    public struct Unit: Sendable {
        public var commands: [RedisCommand]
        /// The single slot of every key in the unit; nil for keyless units.
        public var slot: HashSlot?
        /// True for a `MULTI … EXEC` block.
        public var isTransaction: Bool
    }

    /// Where the reply of one original command comes from.
    public enum Source: Sendable, Equatable {
        /// Reply number `offset` of unit `unit`.
        case reply(unit: Int, offset: Int)
        /// The sum of the integer replies of these single-command units.
        case sum(units: [Int])
        /// An array of `keyCount` elements; element `j` of unit `units[i]`'s array reply
        /// goes to position `keyIndices[i][j]`.
        case merge(units: [Int], keyIndices: [[Int]], keyCount: Int)
    }

    /// The units, in pipeline order.
    public let units: [Unit]
    /// One entry per original command, in the caller's order.
    public let sources: [Source]

    /// Cuts `commands` into units.
    /// - Throws: `.serverError` (`CROSSSLOT …`) for a transaction spanning slots.
    public init(_ commands: [RedisCommand]) throws(KVError) {
        var units: [Unit] = []
        var sources: [Source] = []
        units.reserveCapacity(commands.count)
        sources.reserveCapacity(commands.count)
        var index = 0
        while index < commands.count {
            let command = commands[index]
            let name = command.name
            if name == "MULTI" {
                var end = index + 1
                while end < commands.count {
                    let endName = commands[end].name
                    if endName == "EXEC" || endName == "DISCARD" { break }
                    end += 1
                }
                let last = min(end, commands.count - 1)
                let block = Array(commands[index...last])
                let slot = try Self.transactionSlot(block, position: index)
                for offset in block.indices { sources.append(.reply(unit: units.count, offset: offset)) }
                units.append(Unit(commands: block, slot: slot, isTransaction: true))
                index = last + 1
                continue
            }
            let keys = CommandKeys(command)
            let slots = keys.slots(of: command)
            if slots.count > 1, let split = keys.split {
                var parts: [Int] = []
                var keyIndices: [[Int]] = []
                for slot in slots {
                    var part = RedisCommand(arguments: [command.arguments[0]])
                    var indices: [Int] = []
                    for (keyIndex, position) in keys.positions.enumerated()
                    where HashSlot(key: command.arguments[position]) == slot {
                        part.append(bytes: command.arguments[position])
                        indices.append(keyIndex)
                    }
                    parts.append(units.count)
                    keyIndices.append(indices)
                    units.append(Unit(commands: [part], slot: slot, isTransaction: false))
                }
                switch split {
                case .sumIntegers: sources.append(.sum(units: parts))
                case .mergeArrays: sources.append(.merge(units: parts, keyIndices: keyIndices, keyCount: keys.positions.count))
                }
            } else {
                sources.append(.reply(unit: units.count, offset: 0))
                units.append(Unit(commands: [command], slot: slots.first, isTransaction: false))
            }
            index += 1
        }
        self.units = units
        self.sources = sources
    }

    /// Groups the units `selected` (ascending unit numbers; default all) per node, nodes
    /// in order of their first unit, units in pipeline order within each node.
    public func batches<Node: Hashable>(_ selected: [Int]? = nil, node: (HashSlot?) -> Node) -> [(node: Node, units: [Int])] {
        var order: [Node] = []
        var grouped: [Node: [Int]] = [:]
        for unit in selected ?? Array(units.indices) {
            let target = node(units[unit].slot)
            if grouped[target] == nil {
                order.append(target)
                grouped[target] = [unit]
            } else {
                grouped[target]!.append(unit)
            }
        }
        return order.map { ($0, grouped[$0]!) }
    }

    /// The commands of the given units, concatenated (a node's sub-pipeline).
    public func commands(of selected: [Int]) -> [RedisCommand] {
        var out: [RedisCommand] = []
        for unit in selected { out.append(contentsOf: units[unit].commands) }
        return out
    }

    /// The caller's replies from every unit's replies (`unitReplies[u]` has one reply per
    /// command of unit `u`).
    public func assemble(_ unitReplies: [[RESPValue]]) -> [RESPValue] {
        sources.map { source in
            switch source {
            case .reply(let unit, let offset):
                let replies = unitReplies[unit]
                return offset < replies.count ? replies[offset] : .error("ERR no reply from the cluster node")
            case .sum(let parts):
                var total: Int64 = 0
                for unit in parts {
                    guard case .integer(let value) = unitReplies[unit].first ?? .null else {
                        return unitReplies[unit].first ?? .error("ERR no reply from the cluster node")
                    }
                    total += value
                }
                return .integer(total)
            case .merge(let parts, let keyIndices, let keyCount):
                var merged = [RESPValue](repeating: .null, count: keyCount)
                for (unit, indices) in zip(parts, keyIndices) {
                    let reply = unitReplies[unit].first ?? .error("ERR no reply from the cluster node")
                    guard case .array(let elements) = reply, elements.count == indices.count else { return reply }
                    for (element, index) in zip(elements, indices) { merged[index] = element }
                }
                return .array(merged)
            }
        }
    }

    /// The one slot all keys of a transaction block hash to (nil when keyless).
    private static func transactionSlot(_ block: [RedisCommand], position: Int) throws(KVError) -> HashSlot? {
        var found: [(key: [UInt8], slot: HashSlot)] = []
        for command in block {
            for position in CommandKeys(command).positions {
                let key = command.arguments[position]
                let slot = HashSlot(key: key)
                if !found.contains(where: { $0.slot == slot }) { found.append((key, slot)) }
            }
        }
        guard found.count > 1 else { return found.first?.slot }
        let shown = found.prefix(4).map { "'\(RedisCommand.printable($0.key, limit: 40))' → slot \($0.slot)" }
        let more = found.count > 4 ? ", … (\(found.count) slots)" : ""
        throw KVError(
            code: .serverError,
            message: "CROSSSLOT the MULTI … EXEC block at pipeline position \(position) touches keys in different hash slots ("
                + shown.joined(separator: ", ") + more
                + "); a transaction on a Redis Cluster must stay in one slot: give its keys a common hash tag, e.g. {user42}:a and {user42}:b",
            command: "MULTI")
    }
}
