import OnlineCFCore
import OnlineCFKV

/// Counts of one emission.
public struct EmissionStats: Sendable {
    public var listsWritten = 0
    public var listsDeleted = 0
    public var listsUnchanged = 0
    public init() {}
    public static func += (a: inout EmissionStats, b: EmissionStats) {
        a.listsWritten += b.listsWritten; a.listsDeleted += b.listsDeleted; a.listsUnchanged += b.listsUnchanged
    }
}

/// Writes the top-k lists whose content changed into the KV store.
///
/// Guarantees: each list is replaced inside a MULTI/EXEC block (DEL then ZADD), so a
/// reader sees the old list or the new one, never a mix; an empty list deletes the key
/// and removes the id from the algorithm's index; a list whose content equals the one
/// this emitter last wrote is not written again.
public final class ListEmitter {
    public let keys: KeySchema
    private var fingerprints: [Algorithm: [UInt64]] = [:]
    /// Lists per MULTI/EXEC block, and lists per pipeline round.
    private let listsPerTransaction = 256
    private let listsPerRound = 16_384

    public init(keys: KeySchema) { self.keys = keys }

    private static let emptyFingerprint: UInt64 = 1

    private static func fingerprint(_ list: [ScoredNeighbor]) -> UInt64 {
        if list.isEmpty { return emptyFingerprint }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for n in list {
            h = (h ^ UInt64(n.index)) &* 0x0000_0100_0000_01B3
            h = (h ^ n.score.bitPattern) &* 0x0000_0100_0000_01B3
        }
        return h <= emptyFingerprint ? h &+ 2 : h
    }

    /// Emits every changed list of `model` and clears its change marks.
    public func emit(_ model: inout CFModel, store: StateStore) throws -> EmissionStats {
        var stats = EmissionStats()
        for (algorithm, entities) in model.changedEntities() where !entities.isEmpty {
            stats += try emit(algorithm, entities: entities, model: model, store: store)
        }
        model.clearChanges()
        return stats
    }

    private func emit(_ algorithm: Algorithm, entities: [UInt32], model: CFModel, store: StateStore) throws -> EmissionStats {
        var stats = EmissionStats()
        let names = model.names(for: algorithm.kind)
        var known = fingerprints[algorithm] ?? []
        if known.count < names.count { known.append(contentsOf: repeatElement(0, count: names.count - known.count)) }
        var selector = TopKSelector(k: model.parameters.k, names: names)
        let prefix = Array(keys.listPrefix(algorithm).utf8)
        let indexKey = keys.index(algorithm)

        var round: [RedisCommand] = []
        var added = RedisCommand("SADD", indexKey), removed = RedisCommand("SREM", indexKey)
        var inTransaction = 0, inRound = 0
        func closeTransaction() {
            guard inTransaction > 0 else { return }
            if added.arguments.count > 2 { round.append(added) }
            if removed.arguments.count > 2 { round.append(removed) }
            round.append(RedisCommand("EXEC"))
            added = RedisCommand("SADD", indexKey); removed = RedisCommand("SREM", indexKey)
            inTransaction = 0
        }
        func flushRound() throws {
            closeTransaction()
            if !round.isEmpty { try store.writeTransactions(round) }
            round.removeAll(keepingCapacity: true)
            inRound = 0
        }

        for entity in entities {
            let list = model.list(algorithm, of: entity, using: &selector)
            let fp = Self.fingerprint(list)
            if known[Int(entity)] == fp { stats.listsUnchanged += 1; continue }
            known[Int(entity)] = fp
            if inTransaction == 0 { round.append(RedisCommand("MULTI")) }
            let id = names[Int(entity)]
            let key = prefix + Array(id.utf8)
            round.append(RedisCommand(arguments: [Array("DEL".utf8), key]))
            if list.isEmpty {
                removed.append(string: id)
                stats.listsDeleted += 1
            } else {
                var zadd = RedisCommand(arguments: [Array("ZADD".utf8), key])
                zadd.arguments.reserveCapacity(2 + 2 * list.count)
                for n in list {
                    zadd.append(string: String(n.score))
                    zadd.append(string: names[Int(n.index)])
                }
                round.append(zadd)
                added.append(string: id)
                stats.listsWritten += 1
            }
            inTransaction += 1; inRound += 1
            if inTransaction == listsPerTransaction { closeTransaction() }
            if inRound >= listsPerRound { try flushRound() }
        }
        try flushRound()
        fingerprints[algorithm] = known
        return stats
    }
}
