import Testing
import OnlineCFCore
import OnlineCFTestSupport

/// Model snapshots: a model read back from a snapshot behaves exactly as the one that
/// wrote it under every later event (the same lists bit for bit, the same change marks),
/// for any partition count; damaged snapshots, other format versions and other
/// parameters are refused with a message.
@Suite struct SnapshotTests {
    /// Every list of every algorithm and every user's recent items, by id.
    static func everyList(_ m: CFModel) -> [String: [[ScoredNeighbor]]] {
        var out: [String: [[ScoredNeighbor]]] = [:]
        for a in m.parameters.algorithms {
            out[a.rawValue] = (0..<m.names(for: a.kind).count).map { m.list(a, of: UInt32($0)) }
        }
        if m.recent != nil { out["recent"] = (0..<m.users.count).map { m.recentList(of: UInt32($0)) } }
        return out
    }

    /// Every list equal, reported by name only (the lists themselves are long).
    static func expectSameLists(_ restored: CFModel, _ direct: CFModel, _ context: String) {
        let lists = everyList(restored), expected = everyList(direct)
        #expect(Set(lists.keys) == Set(expected.keys))
        for (name, l) in expected {
            let same = lists[name] == l
            #expect(same, "\(name) differs, \(context)")
        }
    }

    /// The ids whose lists are marked changed, by family (sorted), touched and full.
    static func marks(_ m: CFModel) -> [String] {
        [false, true].flatMap { full in
            m.changedEntities(full: full).map { family, ids in "\(full) \(family.name): \(ids.sorted())" }
        }.sorted()
    }

    /// Applies `events[..<split]` to a model with `before` partitions (with an emission
    /// after a third of them and a Swing rebuild when `rebuildAt` is set), snapshots it,
    /// reads it back with `after` partitions, and checks it against a model that applied
    /// every event without a snapshot.
    @discardableResult
    func check(_ p: ModelParameters, _ events: [Event], split: Int, before: Int, after: Int, rebuild: Bool = false) throws -> CFModel {
        var direct = CFModel(parameters: p, partitioning: ModelPartitioning(count: after))
        var written = CFModel(parameters: p, partitioning: ModelPartitioning(count: before))
        for (n, e) in events[..<split].enumerated() {
            direct.apply(e); written.apply(e)
            if n == split / 3 {
                direct.applyPendingPairs(); written.applyPendingPairs()
                direct.clearChanges(full: true); written.clearChanges(full: true)
                if rebuild { direct.rebuildSwing(threads: 2); written.rebuildSwing(threads: 2) }
            }
        }
        direct.applyPendingPairs(); written.applyPendingPairs()
        let bytes = written.snapshot()
        var restored = try CFModel(snapshot: bytes, parameters: p, partitioning: ModelPartitioning(count: after))
        #expect(restored.pairCount == direct.pairCount)
        #expect(Self.marks(restored) == Self.marks(direct))
        Self.expectSameLists(restored, direct, "at the snapshot")
        for e in events[split...] { direct.apply(e); restored.apply(e) }
        direct.applyPendingPairs(); restored.applyPendingPairs()
        #expect(Self.marks(restored) == Self.marks(direct))
        Self.expectSameLists(restored, direct, "\(before) → \(after) partitions")
        #expect(restored.expiredUsers == direct.expiredUsers && restored.expiredItems == direct.expiredItems)
        #expect(restored.hotUserEvents == direct.hotUserEvents && restored.eventsBeforeAdmission == direct.eventsBeforeAdmission)
        return direct
    }

    @Test(arguments: [(1, 1), (2, 3), (3, 1)])
    func binaryModelWithSwingAndRecallContinuesExactly(partitions: (Int, Int)) throws {
        let events = TestEvents.random(count: 4_000, users: 150, items: 200, authors: 20, seed: 21)
        var p = ModelParameters(algorithms: Set(Algorithm.allCases), itemHistory: 20, userHistory: 8, authorHistory: 10, k: 12)
        p.recall = RecallParameters(blend: RecallBlend(.itemcfCosine))
        try check(p, events, split: 2_500, before: partitions.0, after: partitions.1)
        try check(p, events, split: 2_500, before: partitions.0, after: partitions.1, rebuild: true)
    }

    /// A TTL alone: the removable binary counters (baskets with gaps) continue exactly.
    @Test func binaryModelWithTTLContinuesExactly() throws {
        var events = TestEvents.random(count: 4_000, users: 150, items: 200, authors: 20, seed: 13)
        for n in events.indices { events[n].timestampMillis = Int64(n) * 30_000 }
        var p = ModelParameters(algorithms: [.itemcfCooccurrence, .itemcfCosine, .u2uCosine, .swing], itemHistory: 6, userHistory: 4, k: 10)
        p.ttlMillis = 3 * 3_600_000
        let model = try check(p, events, split: 2_200, before: 3, after: 2)
        #expect(model.expiredUsers > 0 && model.expiredItems > 0 && model.itemCF?.removable == true)
    }

    @Test func weightedDecayedModelWithTTLAndGuardsContinuesExactly() throws {
        let actions = ["click", "like", "share", "dislike"]
        var events = TestEvents.random(count: 4_000, users: 150, items: 200, authors: 20, seed: 8)
        for n in events.indices {
            events[n].action = actions[(n * 7 + n / 3) % actions.count]
            events[n].timestampMillis = Int64(n) * 30_000
        }
        var p = ModelParameters(algorithms: [.itemcfCooccurrence, .itemcfCosine, .itemcfLift, .u2uCosine, .swing, .a2aCosine], k: 10)
        p.actionWeights = try ActionWeights(parsing: "click=1,like=2,share=3,*=-1")
        p.decayHalfLifeMillis = 3_600_000
        p.ttlMillis = 6 * 3_600_000
        p.admitAfter = 2
        p.hotUserLimit = 6
        p.hotUserWindowMillis = 24 * 3_600_000
        var r = RecallParameters(blend: RecallBlend(.swing))
        r.halfLifeMillis = 1_800_000
        p.recall = r
        let model = try check(p, events, split: 2_000, before: 2, after: 1)
        // The guards and the TTL did act on this stream.
        #expect(model.expiredUsers > 0 && model.expiredItems > 0)
        #expect(model.hotUserEvents > 0 && model.eventsBeforeAdmission > 0)
    }

    /// Streamed, a snapshot leaves the encoder in chunks of exactly the chunk size (the
    /// last shorter) that join into the in-memory bytes, with the same checksum chunk by
    /// chunk; a streamed decoder fed chunks of any size reads the same model back, and a
    /// source that throws stops the read.
    @Test func streamedSnapshotsEqualTheInMemoryOnes() throws {
        let events = TestEvents.random(count: 3_000, users: 120, items: 150, authors: 10, seed: 4)
        var p = ModelParameters(algorithms: [.itemcfCosine, .u2uCosine, .swing, .a2aCosine], itemHistory: 10, k: 10)
        p.ttlMillis = nil
        var m = CFModel(parameters: p)
        for e in events { m.apply(e) }
        let bytes = m.snapshot()
        for chunkSize in [8, 1_000, 65_536, bytes.count, bytes.count + 8] {
            var chunks: [[UInt8]] = []
            var checksum = SnapshotChecksum()
            var encoder = SnapshotEncoder(chunkSize: chunkSize) { chunk in
                chunks.append(Array(chunk))
                checksum.update(chunk)
            }
            m.snapshot(into: &encoder)
            encoder.finish()
            #expect(encoder.count == bytes.count)
            #expect(chunks.dropLast().allSatisfy { $0.count == chunkSize } && chunks.last!.count <= chunkSize)
            #expect(Array(chunks.joined()) == bytes)
            #expect(checksum.value == SnapshotChecksum.of(bytes))
        }
        for size in [1, 7, 4_096, bytes.count] {
            var next = 0
            var decoder = SnapshotDecoder(totalBytes: bytes.count) { () throws(SnapshotError) -> [UInt8]? in
                guard next < bytes.count else { return nil }
                defer { next += size }
                return Array(bytes[next..<min(bytes.count, next + size)])
            }
            let restored = try CFModel(reading: &decoder, parameters: p)
            #expect(decoder.isAtEnd && restored.pairCount == m.pairCount)
            Self.expectSameLists(restored, m, "chunks of \(size)")
        }
        var served = 0
        var stopping = SnapshotDecoder(totalBytes: bytes.count) { () throws(SnapshotError) -> [UInt8]? in
            served += 1
            if served > 3 { throw SnapshotError("stopped") }
            return Array(bytes[((served - 1) * 100)..<(served * 100)])
        }
        #expect(throws: SnapshotError.self) { try CFModel(reading: &stopping, parameters: p) }
        #expect(served == 4)
    }

    @Test func damagedSnapshotsOtherVersionsAndOtherParametersAreRefused() throws {
        let events = TestEvents.random(count: 500, users: 40, items: 50, authors: 5, seed: 2)
        let p = ModelParameters(algorithms: [.itemcfCosine, .swing], k: 10)
        var m = CFModel(parameters: p)
        for e in events { m.apply(e) }
        let bytes = m.snapshot()
        #expect(CFModel.snapshotHeader(bytes)?.version == CFModel.snapshotFormatVersion)
        #expect(CFModel.snapshotHeader(bytes)?.stateFingerprint == p.stateFingerprint)

        #expect(throws: SnapshotError.self) { try CFModel(snapshot: Array(bytes.dropLast(9)), parameters: p) }
        #expect(throws: SnapshotError.self) { try CFModel(snapshot: bytes + [0], parameters: p) }
        #expect(throws: SnapshotError.self) { try CFModel(snapshot: Array("not a snapshot".utf8), parameters: p) }

        var newer = bytes
        newer[16] &+= 1  // the format version follows the 8-byte count and 8-byte magic
        do {
            _ = try CFModel(snapshot: newer, parameters: p)
            Issue.record("a snapshot of another format version was read")
        } catch {
            #expect(error.description.contains("format version \(CFModel.snapshotFormatVersion + 1)"))
        }

        var wider = p
        wider.itemHistory = 7
        do {
            _ = try CFModel(snapshot: bytes, parameters: wider)
            Issue.record("a snapshot was read under other parameters")
        } catch {
            #expect(error.description.contains("other model parameters"))
        }

        // Another list length shapes only the lists, not the state.
        var longer = p
        longer.k = 30
        let restored = try CFModel(snapshot: bytes, parameters: longer)
        #expect(restored.pairCount == m.pairCount)
    }
}
