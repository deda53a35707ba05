import Testing
import OnlineCFRuntime

/// The job loop's decisions, driven by a simulated world: no binary, no redis-server, no
/// real clock.
@Suite struct JobLoopTests {
    typealias Action = JobLoop.Action

    /// A world the loop acts on: reads cost time and leave events pending, commits clear
    /// them, an emission is under way for `emissionTurns` advances, and so on.
    struct Simulation {
        var loop: JobLoop
        var world = JobLoop.Observation(now: .zero)
        var actions: [Action] = []
        /// Reads that deliver input before the end (nil: the input never ends).
        var readsBeforeEnd: Int? = 3
        var eventsPerRead = 100
        var readCost: Duration = .milliseconds(10)
        /// Advances an emission needs before it is handed over.
        var emissionTurns = 1
        var advancesLeft = 0
        /// Time a Swing rebuild takes.
        var rebuildCost: Duration = .milliseconds(500)
        /// Time a snapshot takes, and snapshots handed out while an emission was being
        /// computed or written (there must be none).
        var checkpointCost: Duration = .milliseconds(200)
        var checkpointsDuringEmission = 0

        init(_ settings: JobLoop.Settings) { loop = JobLoop(settings: settings) }

        @discardableResult
        mutating func step() -> Action {
            let action = loop.next(world)
            actions.append(action)
            switch action {
            case .read:
                world.now += readCost
                if readsBeforeEnd == 0 {
                    loop.inputRead(endOfInput: true)
                } else {
                    readsBeforeEnd = readsBeforeEnd.map { $0 - 1 }
                    world.pendingEvents += eventsPerRead
                    world.uncheckpointedEvents += eventsPerRead
                    loop.inputRead(endOfInput: false)
                }
            case .commit:
                world.pendingEvents = 0
                world.sourceWantsCommit = false
            case .rebuildSwing:
                world.pendingEvents = 0
                world.now += rebuildCost
            case .beginEmission:
                // The driver starts the emission and computes a first part of it.
                advancesLeft = emissionTurns - 1
                world.emitting = advancesLeft > 0
            case .advanceEmission:
                advancesLeft -= 1
                world.emitting = advancesLeft > 0
            case .checkpoint:
                if world.emitting || world.writerBusy { checkpointsDuringEmission += 1 }
                world.pendingEvents = 0
                world.uncheckpointedEvents = 0
                world.now += checkpointCost
            case .restore, .openSource, .report, .computeLists, .finalEmission, .finish:
                break
            }
            return action
        }

        /// Steps until `action` is handed out (at most `limit` steps); returns it.
        mutating func step(until match: (Action) -> Bool, limit: Int = 10_000) -> Action? {
            for _ in 0..<limit {
                let action = step()
                if match(action) { return action }
                if loop.isFinished { return nil }
            }
            return nil
        }

        /// Steps to the end; returns every action handed out.
        mutating func runToEnd(limit: Int = 100_000) -> [Action] {
            while !loop.isFinished && actions.count < limit { step() }
            return actions
        }
    }

    static func stream(interval: Duration = .seconds(60), chunk: Int = 50_000, swing: Duration? = nil,
                       progress: Bool = false) -> JobLoop.Settings {
        JobLoop.Settings(mode: .stream, emitInterval: interval, swingRebuildEvery: swing, eventsPerChunk: chunk,
                         showProgress: progress)
    }

    @Test func aStreamRestoresReadsAndEndsWithACommitAndTheFinalEmission() {
        var simulation = Simulation(Self.stream())
        let actions = simulation.runToEnd()
        let turn: [Action] = [.read(wait: .milliseconds(250)), .report(progress: false)]
        #expect(actions == [.restore, .openSource] + turn + turn + turn
                + [.read(wait: .milliseconds(250)), .commit, .finalEmission, .finish])
    }

    @Test func aReadWaitsAtMostUntilTheNextEmissionIsDue() {
        var simulation = Simulation(Self.stream(interval: .milliseconds(100)))
        simulation.readsBeforeEnd = nil
        simulation.step(); simulation.step()  // restore, open at t = 0
        #expect(simulation.step() == .read(wait: .milliseconds(100)))
        simulation.step()  // report
        simulation.world.now = .milliseconds(80)
        #expect(simulation.step() == .read(wait: .milliseconds(20)))
        simulation.step()
        simulation.world.now = .milliseconds(99)
        // Due during the read that follows: a commit, then the emission starts.
        #expect(simulation.step() == .read(wait: .milliseconds(1)))
        #expect(simulation.step() == .commit)
        #expect(simulation.step() == .beginEmission)
    }

    @Test func emissionsStartOnePerIntervalEachAfterACommit() {
        var simulation = Simulation(Self.stream(interval: .seconds(1)))
        simulation.readsBeforeEnd = nil
        simulation.readCost = .milliseconds(300)
        var starts: [Duration] = []
        while simulation.world.now < .seconds(10) {
            let before = simulation.actions.count
            if simulation.step() == .beginEmission {
                starts.append(simulation.world.now)
                // Committed right before: a written list never runs ahead of the log.
                #expect(simulation.actions[before - 1] == .commit)
            }
        }
        #expect(starts.count == 8, "one emission per interval: \(starts)")
        for (a, b) in zip(starts, starts.dropFirst()) { #expect(b - a >= .seconds(1)) }
    }

    @Test func aBusyWriterMergesEmissionsInsteadOfQueueingThem() {
        var simulation = Simulation(Self.stream(interval: .seconds(1)))
        simulation.readsBeforeEnd = nil
        simulation.readCost = .milliseconds(200)
        simulation.world.writerBusy = true
        _ = simulation.step(until: { $0 == .report(progress: false) })
        simulation.world.now = .seconds(5)
        // Every turn commits (so the next emission carries the newest state) but none starts.
        simulation.actions.removeAll()
        for _ in 0..<30 { simulation.step() }
        #expect(!simulation.actions.contains(.beginEmission))
        let turns = simulation.actions.split(separator: .report(progress: false)).filter { !$0.isEmpty }
        #expect(turns.count >= 9)
        for turn in turns.dropLast() { #expect(Array(turn) == [.read(wait: .zero), .commit]) }
        simulation.world.writerBusy = false
        #expect(simulation.step(until: { $0 == .beginEmission }) == .beginEmission)
    }

    @Test func anEmissionUnderWayIsAdvancedEachTurnAndASwingRebuildWaitsForIt() {
        var simulation = Simulation(Self.stream(interval: .seconds(1), swing: .seconds(2)))
        simulation.readsBeforeEnd = nil
        simulation.readCost = .milliseconds(100)
        simulation.emissionTurns = 30  // an emission takes three seconds of turns
        _ = simulation.step(until: { $0 == .beginEmission })
        var sawAdvance = 0
        while simulation.world.emitting {
            let action = simulation.step()
            #expect(action != .rebuildSwing && action != .beginEmission)
            if action == .advanceEmission { sawAdvance += 1 }
        }
        #expect(sawAdvance == 29)
        // Overdue since t = 2 s: it runs as soon as the emission is handed over.
        let afterEmission = simulation.world.now
        #expect(simulation.step(until: { $0 == .rebuildSwing }) == .rebuildSwing)
        #expect(simulation.world.now - afterEmission < .milliseconds(700))
        // The next one is scheduled from when this one ended, not from when it was due.
        let ended = simulation.world.now
        simulation.emissionTurns = 0
        _ = simulation.step(until: { $0 == .rebuildSwing })
        #expect(simulation.world.now - simulation.rebuildCost - ended >= .seconds(2))
    }

    @Test func aFullChunkOrTheSourceAsksForACommit() {
        var simulation = Simulation(Self.stream(chunk: 250))
        simulation.readsBeforeEnd = nil
        let actions = (0..<16).map { _ in simulation.step() }.filter { $0 != .report(progress: false) }
        let read = Action.read(wait: .milliseconds(250))
        #expect(actions == [.restore, .openSource, read, read, read, .commit, read, read, read, .commit])
        simulation.world.sourceWantsCommit = true
        #expect(simulation.step() == .read(wait: .milliseconds(250)))
        #expect(simulation.step() == .commit)
    }

    @Test func aBatchReadsWithoutWaitingEmitsNothingBeforeTheEndAndComputesTheListsThere() {
        var simulation = Simulation(JobLoop.Settings(mode: .batch, emitInterval: .milliseconds(1), swingRebuildEvery: .milliseconds(1), eventsPerChunk: 50_000))
        simulation.readCost = .seconds(10)
        let actions = simulation.runToEnd()
        let turn: [Action] = [.read(wait: nil), .report(progress: false)]
        #expect(actions == [.restore, .openSource] + turn + turn + turn
                + [.read(wait: nil), .commit, .rebuildSwing, .computeLists, .finalEmission, .finish])
    }

    @Test func aShutdownEndsTheRunAsTheEndOfInputDoesAtTheNextTurn() {
        var simulation = Simulation(Self.stream())
        simulation.readsBeforeEnd = nil
        _ = simulation.step(until: { $0 == .report(progress: false) })
        simulation.world.shutdownRequested = true
        var rest: [Action] = []
        while !simulation.loop.isFinished { rest.append(simulation.step()) }
        #expect(rest == [.commit, .finalEmission, .finish])
    }

    @Test func aShutdownDuringTheRestoreEndsTheRunWithoutReadingOrWriting() {
        for mode in [JobConfiguration.Mode.stream, .batch, .rebuild] {
            var loop = JobLoop(settings: JobLoop.Settings(mode: mode, emitInterval: .seconds(1), eventsPerChunk: 10))
            #expect(loop.next(.init(now: .zero)) == .restore)
            loop.restored(complete: false)
            #expect(loop.next(.init(now: .zero, shutdownRequested: true)) == .finish)
            #expect(loop.isFinished)
        }
    }

    @Test func aRebuildRecomputesSwingAndEmitsWithoutReading() {
        var simulation = Simulation(JobLoop.Settings(mode: .rebuild, emitInterval: .seconds(60), eventsPerChunk: 50_000))
        #expect(simulation.runToEnd() == [.restore, .rebuildSwing, .finalEmission, .finish])
    }

    @Test func theProgressLineIsDueOncePerSecond() {
        var simulation = Simulation(Self.stream(progress: true))
        simulation.readsBeforeEnd = nil
        simulation.readCost = .milliseconds(100)
        var shown = 0
        while simulation.world.now < .milliseconds(10_050) {
            if simulation.step() == .report(progress: true) { shown += 1 }
        }
        #expect(shown == 10)
    }

    static func checkpointing(_ every: CheckpointInterval) -> JobLoop.Settings {
        var settings = stream(interval: .seconds(1))
        settings.checkpointEvery = every
        return settings
    }

    @Test func snapshotsAreDueByTimeNeverDuringAnEmissionAndOnceMoreAtTheEndOfInput() {
        var simulation = Simulation(Self.checkpointing(.every(.seconds(3))))
        simulation.readsBeforeEnd = 100
        simulation.readCost = .milliseconds(100)  // 10 s of input
        simulation.emissionTurns = 3
        let actions = simulation.runToEnd()
        let times = actions.indices.filter { actions[$0] == .checkpoint }
        #expect(times.count == 4, "three while reading (every 3 s of 10), one at the end: \(actions)")
        #expect(simulation.checkpointsDuringEmission == 0)
        #expect(Array(actions.suffix(3)) == [.finalEmission, .checkpoint, .finish])
    }

    @Test func snapshotsAreDueByNewEventsAndNotWhenNothingIsNew() {
        var simulation = Simulation(Self.checkpointing(.events(1_000)))
        simulation.readsBeforeEnd = 50  // 5,000 events
        let actions = simulation.runToEnd()
        #expect(actions.filter { $0 == .checkpoint }.count == 5, "one per 1,000 events; the last at the end: \(actions)")
        #expect(simulation.checkpointsDuringEmission == 0)

        // A time interval that passes with nothing new takes none.
        var idle = Simulation(Self.checkpointing(.every(.seconds(1))))
        idle.readsBeforeEnd = 30
        idle.eventsPerRead = 0
        idle.readCost = .milliseconds(200)
        #expect(!idle.runToEnd().contains(.checkpoint))
    }

    @Test func noSnapshotAfterAShutdownRequestNorInABatch() {
        var simulation = Simulation(Self.checkpointing(.every(.seconds(100))))
        simulation.readsBeforeEnd = nil
        _ = simulation.step(until: { $0 == .report(progress: false) })
        simulation.world.shutdownRequested = true
        let actions = simulation.runToEnd()
        #expect(Array(actions.suffix(3)) == [.commit, .finalEmission, .finish])

        var batchSettings = Self.checkpointing(.events(1))
        batchSettings.mode = .batch
        var batch = Simulation(batchSettings)
        #expect(!batch.runToEnd().contains(.checkpoint))
    }
}
