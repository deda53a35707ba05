import OnlineCFCore
import OnlineCFKV

/// Counts of emissions.
public struct EmissionStats: Sendable {
    public var listsWritten = 0
    public var listsDeleted = 0
    public var listsUnchanged = 0
    public init() {}
    public static func += (a: inout EmissionStats, b: EmissionStats) {
        a.listsWritten += b.listsWritten; a.listsDeleted += b.listsDeleted; a.listsUnchanged += b.listsUnchanged
    }
}

/// Turns the model's changed entities into list slices for the ``ListWriter``.
///
/// An emission starts with ``begin(_:full:logChunks:)``, which takes the set of changed
/// entities and clears the model's change marks; ``advance(_:blocking:)`` then computes
/// lists slice by slice from the model as it is at that moment (so a list is never older
/// than the emission's start) and hands them to the writer while it has room. A list
/// whose content equals the one last written is skipped. The last slice records how many
/// log chunks the lists reflect.
///
/// With several workers, an emitter writes only the lists of the ids its worker owns
/// (``WorkerAssignment/owns(_:)``); every worker applies every event, so the lists an owner
/// writes are those a job alone would write.
///
/// Intermediate emissions are `full: false` (touched entities only); the final one at
/// the end of input or shutdown is `full: true`, so that afterwards every list equals its
/// formula (see ``CooccurrenceCounter/changedEntities(normalised:full:)``).
///
/// With a TTL (``ListWriter/ttlMillis``), list keys expire in wall time: a non-empty list
/// not written for half the TTL (or restored from an earlier run, whose write time is
/// unknown) is written again at the next emission, so a live id's key never expires while
/// the job runs, whether or not its list changed.
public final class ListEmitter {
    public let writer: ListWriter
    public private(set) var stats = EmissionStats()
    public private(set) var emissions = 0
    private var fingerprints: [ListFamily: [UInt64]] = [:]
    /// Entities below this index (per kind) may have a list in the store from an earlier
    /// run; those above were created by this run and have none until it writes one.
    private var existingBefore: [ListKind: Int] = [:]
    private var work: [(ListFamily, [UInt32])] = []
    /// With a TTL: when this run last wrote each entity's list, and the stale lists the
    /// emission under way writes even if unchanged.
    private var writtenAt: [ListFamily: [ContinuousClock.Instant?]] = [:]
    private var refreshing: [ListFamily: Set<UInt32>] = [:]
    /// TTL restart: live restored ids whose list keys were gone (computed once, at the
    /// first emission; see ``noteRestoredKeyLifetimes(_:remaining:)``).
    private var restoredWithoutKey: [ListFamily: [UInt32]] = [:]
    /// Recall state of the emission under way: i2i lists computed for earlier users.
    private var composer: U2I2IComposer?
    private var recallCache: [Algorithm: [UInt32: [ScoredNeighbor]]] = [:]
    private var algorithmPosition = 0, entityPosition = 0
    private var emittedChunks = 0
    private var full = false
    public private(set) var isEmitting = false
    /// Lists per slice (a slice being computed, two queued and one being written are in
    /// memory at once, with their RESTORE payloads).
    public var listsPerSlice = 2048
    /// Which ids' lists this emitter writes: those its worker owns (all for a job alone).
    public let workers: WorkerAssignment

    /// Threads that compute the lists of a slice (recall families: one).
    public let threads: Int

    public init(writer: ListWriter, workers: WorkerAssignment = .single, threads: Int = 1) {
        self.writer = writer
        self.workers = workers
        self.threads = max(1, threads)
    }

    private static let emptyFingerprint: UInt64 = 1

    /// Records how many entities of each kind the restored state had: only those can have
    /// lists in the store that this emitter does not know of.
    public func noteRestoredState(_ model: CFModel) {
        for kind in [ListKind.i2i, .u2u, .a2a] { existingBefore[kind] = model.names(for: kind).count }
    }

    /// TTL: the remaining lifetimes of the restored lists' keys stand in for when they
    /// were written, so that a restart rewrites only the lists due for a refresh (less
    /// than half the TTL left, or no key) instead of every one; an expired id without a
    /// key is known to have no list (nothing to delete), and an expired id whose deletion
    /// is not pending is not asked about at all. `remaining` answers, for
    /// a family and a block of entity names, each key's remaining time to live in
    /// milliseconds (−2: no key; −1: a key without expiry). Call after ``noteRestoredState(_:)``.
    public func noteRestoredKeyLifetimes(_ model: CFModel, remaining: (ListFamily, ArraySlice<String>) throws -> [Int64]) rethrows {
        guard let ttl = writer.ttlMillis else { return }
        let now = ContinuousClock.now
        var families = model.parameters.algorithms.sorted().map(ListFamily.algorithm)
        if model.parameters.recall != nil { families += workers.isShared ? [.recent] : [.recent, .u2i2i] }
        let changed = model.changedEntities(full: true)
        for family in families {
            let restored = existingBefore[family.entityKind] ?? 0
            guard restored > 0 else { continue }
            let names = model.names(for: family.entityKind)
            var times = writtenAt.removeValue(forKey: family) ?? []
            if times.count < restored { times.append(contentsOf: repeatElement(nil, count: restored - times.count)) }
            var known = fingerprints.removeValue(forKey: family) ?? []
            var missing: [UInt32] = []
            if known.count < restored { known.append(contentsOf: repeatElement(0, count: restored - known.count)) }
            // An expired id whose list is not waiting to be deleted (its expiry was
            // emitted) has no key: it is not asked about, so that a restart's cost follows
            // the live ids, not every id ever seen.
            let pending = Set(changed.first { $0.0 == family }?.1 ?? [])
            var asked: [UInt32] = []
            for n in 0..<restored {
                if model.hasExpired(family.entityKind, UInt32(n)) && !pending.contains(UInt32(n)) {
                    if known[n] == 0 { known[n] = Self.emptyFingerprint }
                } else {
                    asked.append(UInt32(n))
                }
            }
            for start in stride(from: 0, to: asked.count, by: 20_000) {
                let block = asked[start..<min(asked.count, start + 20_000)]
                let lives = try remaining(family, block.map { names[Int($0)] }[...])
                for (n, life) in zip(block.lazy.map { Int($0) }, lives) {
                    if life >= 0, times[n] == nil { times[n] = now - .milliseconds(ttl - min(life, ttl)) }
                    // No key: the list is empty in the store. An expired id has none to
                    // write either; a live one is computed at the first emission and
                    // written if it is not empty.
                    guard life == -2, known[n] == 0 else { continue }
                    known[n] = Self.emptyFingerprint
                    if !model.hasExpired(family.entityKind, UInt32(n)) { missing.append(UInt32(n)) }
                }
            }
            writtenAt[family] = times
            fingerprints[family] = known
            if !missing.isEmpty { restoredWithoutKey[family] = missing }
        }
    }

    private static func fingerprint(_ list: [ScoredNeighbor]) -> UInt64 {
        if list.isEmpty { return emptyFingerprint }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for n in list {
            h = (h ^ UInt64(n.index)) &* 0x0000_0100_0000_01B3
            h = (h ^ n.score.bitPattern) &* 0x0000_0100_0000_01B3
        }
        return h <= emptyFingerprint ? h &+ 2 : h
    }

    /// Starts an emission of the lists changed since the last one.
    public func begin(_ model: inout CFModel, full: Bool, logChunks: Int) {
        precondition(!isEmitting)
        let changed = model.changedEntities(full: full)
        work = changed.filter { !$0.1.isEmpty }
        model.clearChanges(full: full)
        refreshing = [:]
        if let ttl = writer.ttlMillis { addStaleLists(model, families: changed.map(\.0), olderThan: .milliseconds(ttl / 2)) }
        for (family, entities) in restoredWithoutKey { addWork(family, entities) }
        restoredWithoutKey = [:]
        if workers.isShared { work = ownedOnly(work, model) }
        if let r = model.parameters.recall, composer == nil { composer = U2I2IComposer(blend: r.blend, options: r.options) }
        recallCache.removeAll()
        algorithmPosition = 0; entityPosition = 0
        emittedChunks = logChunks
        self.full = full
        isEmitting = true
        emissions += 1
    }

    /// The part of `work` whose ids this emitter's worker owns.
    private func ownedOnly(_ work: [(ListFamily, [UInt32])], _ model: CFModel) -> [(ListFamily, [UInt32])] {
        work.compactMap { family, entities in
            let names = model.names(for: family.entityKind)
            let owned = entities.filter { workers.owns(names[Int($0)]) }
            return owned.isEmpty ? nil : (family, owned)
        }
    }

    private func noteWritten(_ family: ListFamily, _ entity: UInt32) {
        // Taken out of the dictionary while it changes, so the array is not copied.
        var times = writtenAt.removeValue(forKey: family) ?? []
        if times.count <= Int(entity) { times.append(contentsOf: repeatElement(nil, count: Int(entity) + 1 - times.count)) }
        times[Int(entity)] = ContinuousClock.now
        writtenAt[family] = times
    }

    /// Adds to the work every entity of `families` whose list is non-empty (or unknown,
    /// restored) and was not written by this run within `age`.
    private func addStaleLists(_ model: CFModel, families: [ListFamily], olderThan age: Duration) {
        let now = ContinuousClock.now
        for family in families {
            let count = model.names(for: family.entityKind).count
            let restored = existingBefore[family.entityKind] ?? 0
            let known = fingerprints[family] ?? []
            let times = writtenAt[family] ?? []
            var stale: [UInt32] = []
            for e in 0..<count {
                let fp = e < known.count ? known[e] : (e < restored ? 0 : Self.emptyFingerprint)
                if fp == Self.emptyFingerprint { continue }
                if e < times.count, let at = times[e], now - at < age { continue }
                stale.append(UInt32(e))
            }
            guard !stale.isEmpty else { continue }
            refreshing[family] = Set(stale)
            addWork(family, stale)
        }
    }

    /// Adds entities of a family to this emission's work (once each).
    private func addWork(_ family: ListFamily, _ entities: [UInt32]) {
        if let w = work.firstIndex(where: { $0.0 == family }) {
            let already = Set(work[w].1)
            work[w].1 += entities.filter { !already.contains($0) }
        } else {
            work.append((family, entities))
        }
    }

    /// Computes and submits slices: while the writer has room, or (with `blocking`) until
    /// the emission is all submitted. Returns true when the emission is all submitted.
    @discardableResult
    public func advance(_ model: CFModel, blocking: Bool) throws -> Bool {
        guard isEmitting else { return true }
        while algorithmPosition < work.count {
            if !blocking && !writer.hasRoom { return false }
            let (family, entities) = work[algorithmPosition]
            let entityNames = model.names(for: family.entityKind)
            let names = model.names(for: family.memberKind)
            var known = fingerprints.removeValue(forKey: family) ?? []  // unshared: changed in place
            if known.count < entityNames.count {
                let restored = existingBefore[family.entityKind] ?? 0
                for index in known.count..<entityNames.count { known.append(index < restored ? 0 : Self.emptyFingerprint) }
            }
            var selector = TopKSelector(k: model.parameters.k, names: names, sortKeys: model.sortKeys(for: family.memberKind))
            var lists: [(entity: UInt32, neighbours: [ScoredNeighbor])] = []
            let end = min(entities.count, entityPosition + listsPerSlice)
            let slice = entities[entityPosition..<end]
            let computed: [[ScoredNeighbor]]
            if case .algorithm(let algorithm) = family {
                computed = model.lists(algorithm, of: slice, threads: threads)
            } else {
                computed = slice.map { model.list(family, of: $0, using: &selector, composer: &composer, cache: &recallCache) }
            }
            for (entity, list) in zip(slice, computed) {
                let fp = Self.fingerprint(list)
                if known[Int(entity)] == fp && refreshing[family]?.contains(entity) != true { stats.listsUnchanged += 1; continue }
                known[Int(entity)] = fp
                if writer.ttlMillis != nil { noteWritten(family, entity) }
                if list.isEmpty { stats.listsDeleted += 1 } else { stats.listsWritten += 1 }
                lists.append((entity, list))
            }
            fingerprints[family] = known
            let payloads = Self.payloads(lists, names: names, threads: threads)
            entityPosition = end
            if entityPosition >= entities.count { algorithmPosition += 1; entityPosition = 0 }
            let last = algorithmPosition >= work.count
            if !lists.isEmpty || last {
                var slice = ListSlice(family: family, entityNames: entityNames, names: names, lists: lists,
                                      emittedChunks: last ? emittedChunks : nil, full: full, emission: last ? emissions : nil)
                slice.payloads = payloads
                try writer.submit(slice)
            }
        }
        if work.isEmpty {
            try writer.submit(ListSlice(family: .algorithm(.itemcfCosine), entityNames: [], names: [], lists: [], emittedChunks: emittedChunks, full: full, emission: emissions))
        }
        isEmitting = false
        work = []
        return true
    }

    /// The writer's RESTORE payloads of `lists`, built on `threads` threads (the writer,
    /// one thread, would otherwise spend most of an emission building them).
    static func payloads(_ lists: [(entity: UInt32, neighbours: [ScoredNeighbor])], names: [String], threads: Int) -> [[UInt8]?] {
        ParallelMap.map(count: lists.count, threads: threads) { ListWriter.payload(lists[$0].neighbours, names: names) }
    }
}
