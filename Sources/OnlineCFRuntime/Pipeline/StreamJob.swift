import Foundation
import OnlineCFCore
import OnlineCFKV

/// Reads events, applies them to the in-process model, commits them to the KV store's
/// event log in chunks, and emits changed top-k lists every interval and at the end.
///
/// Guarantees:
/// - The state is the namespace's event log: at start the job replays it (so a second
///   `run` continues where the first stopped), and only events that changed the state
///   are logged, each in exactly one committed chunk.
/// - After the end of input (or a graceful shutdown) and the final emission, every list
///   in the KV store equals its formula over all events applied to the namespace.
/// - Lines come from an ``EventSource``. A replayable one (file, folder, Redis Stream, Kafka) has
///   its position committed in the same transaction as the events, after whole lines only,
///   so a restart replays the log and reads on from exactly where the committed state ends.
/// - A malformed line is reported and counted, and the run goes on.
/// - When the KV store is unreachable, or full (`-OOM`), the client retries with back-off;
///   reading stops meanwhile (back-pressure) and nothing read is dropped.
/// - With a ``WriterLease``, every state write is fenced by it, and the job stops with
///   ``RuntimeError/Code/leaseLost`` once another process has taken the lease.
/// - The loop's decisions are ``JobLoop``'s (a value type, unit-tested without I/O); this
///   class is its driver: it performs each action and reports the outcome.
/// - With several workers (``JobConfiguration/workers``), each reads the whole input and
///   keeps all of the light state, but holds, applies and writes only the rows of the ids
///   it owns (``ModelPartitioning``); its log, snapshots and source positions are its own,
///   so it restarts from them alone, and its lists equal a job alone's. A worker whose
///   own state is empty starts from worker 0's when that still holds the whole model (a
///   job that ran alone before), and worker 0 keeps such a state until every peer has a
///   state of its own.
public final class StreamJob {
    public let configuration: JobConfiguration
    public let store: StateStore
    private let lease: WriterLease?
    private let shutdown: ShutdownSignal
    private let emitter: ListEmitter
    private let writer: ListWriter
    private let reporter: MalformedLineReporter
    private let moderation: ModerationSync
    private var model: CFModel
    private var decoder: EventDecoder
    /// A decoder that has seen nothing: each file of a source starts with one (its header).
    private let freshDecoder: EventDecoder
    /// Set by ``run(source:)``.
    private var source: (any EventSource)!
    /// Where line 1 of the current input was, for a header problem.
    private var headerLocation = "line 1"
    private var meta = StateMeta()
    /// The events applied since the last commit, packed as the log chunk they commit as.
    private var pending = EventLogChunk()
    private var summary = RunSummary()
    /// Events read since the current emission began, by read time; and those an emission
    /// under way will carry, by emission number.
    private var unassigned: [(at: ContinuousClock.Instant, count: Int)] = []
    private var carried: [Int: [(at: ContinuousClock.Instant, count: Int)]] = [:]
    private let clock = ContinuousClock()

    public let metrics: JobMetrics
    private var reported = (lines: 0, events: 0, applied: 0, malformed: 0, commands: 0, lists: 0)
    private var reportedLeftOut = (hot: 0, admission: 0)
    private var reportedRefusals = 0
    private var emissionStarted: [Int: ContinuousClock.Instant] = [:]

    /// `lease` is the writer lease the job holds on its (namespace, worker) (nil: none,
    /// for a store no other process writes); the store and the list writer are fenced by it.
    public init(configuration: JobConfiguration, store: StateStore, lease: WriterLease?, shutdown: ShutdownSignal,
                metrics: JobMetrics = JobMetrics()) throws {
        self.configuration = configuration
        self.metrics = metrics
        self.store = store
        self.lease = lease
        if let lease { store.fence = lease.fence }
        self.shutdown = shutdown
        self.writer = ListWriter(endpoint: store.client.endpoint, keys: store.keys, worker: store.worker, fence: store.fence,
                                 ttlMillis: configuration.parameters.ttlMillis, shouldGiveUp: { [shutdown] in shutdown.isRequested })
        self.emitter = ListEmitter(writer: writer, workers: configuration.workers, threads: configuration.threads)
        self.reporter = try MalformedLineReporter(deadLetterPath: configuration.deadLetterPath)
        self.model = CFModel(parameters: configuration.parameters, evaluation: configuration.mode == .batch ? .deferred : .incremental,
                             partitioning: ModelPartitioning(count: min(255, configuration.threads), workers: configuration.workers))
        self.moderation = ModerationSync(store: store)
        do {
            self.decoder = try EventDecoder(format: configuration.format, columns: configuration.columns)
            self.freshDecoder = decoder
        } catch {
            throw RuntimeError("\(error)")
        }
    }

    /// Runs the job over standard input (or the descriptor of `reader`) to its end.
    public func run(reader: LineReader) throws -> RunSummary {
        try run(source: StdinSource(reader: reader))
    }

    /// Runs the job over `source` to its end (or to a shutdown request). A replayable
    /// source starts at the position committed with the state (after the log is replayed),
    /// and each commit records its position with the events, in one transaction.
    public func run(source: any EventSource) throws -> RunSummary {
        let start = clock.now
        let commandsBefore = store.client.commandsSent + store.sideCommandsSent
        self.source = source
        var loop = JobLoop(settings: JobLoop.Settings(configuration))
        while true {
            try lease?.check()
            let observation = JobLoop.Observation(
                now: clock.now - start, shutdownRequested: shutdown.isRequested, pendingEvents: pending.count,
                sourceWantsCommit: source.wantsCommit, emitting: emitter.isEmitting, writerBusy: writer.isBusy,
                uncheckpointedEvents: meta.eventsCommitted - (meta.snapshot?.events ?? 0) + pending.count)
            switch loop.next(observation) {
            case .restore:
                do {
                    try restoreState()
                    restoreDone = true
                    loop.restored(complete: true)
                } catch is RestoreInterrupted {
                    summary.restoreInterrupted = true
                    stderrLine("shutdown requested during the restore: stopped after \(summary.replayedEvents) replayed events, before reading any input; nothing was written")
                    loop.restored(complete: false)
                }
            case .openSource:
                summary.resumedAt = try source.open(at: source.identity.flatMap { meta.sourcePositions[$0] })
            case .read(let wait):
                loop.inputRead(endOfInput: try read(waitingAtMost: wait))
            case .commit:
                try commit()
            case .rebuildSwing:
                try rebuildSwing()
            case .checkpoint:
                try checkpoint()
            case .beginEmission:
                try beginEmission(full: false)
                try advanceEmission(blocking: false)
            case .advanceEmission:
                try advanceEmission(blocking: false)
            case .report(let showProgress):
                recordFreshness()
                reportMetrics()
                if showProgress { progress(since: start) }
            case .computeLists:
                // Every co-occurrence list at once, with the item statuses as of now.
                try moderation.refresh(&model)
                let started = clock.now
                model.computeDeferredLists(threads: configuration.threads)
                summary.computeSeconds = (clock.now - started).seconds
            case .finalEmission:
                try finalEmission()
                if configuration.showProgress { progress(since: start); FileHandle.standardError.write(Data("\n".utf8)) }
            case .finish:
                return finish(start: start, commandsBefore: commandsBefore)
            }
        }
    }

    /// Waits at most `wait` for input (nil: reads at once), reads one micro-batch and
    /// applies its row increments, every partition on its own thread. Returns true at the
    /// end of the input.
    private func read(waitingAtMost wait: Duration?) throws -> Bool {
        if let wait, !source.waitReadable(timeoutMillis: Int32(max(0, wait.milliseconds))) { return false }
        let eventsBefore = summary.events
        let status = try source.read(maxLines: 65_536) { line in self.handle(line) }
        model.applyPendingPairs()
        if summary.events > eventsBefore { unassigned.append((clock.now, summary.events - eventsBefore)) }
        if let problem = decoder.headerProblem {
            throw RuntimeError("\(headerLocation): \(problem). Pass --columns to name the columns, or use --format tsv")
        }
        if case .endOfInput = status { return true }
        return false
    }

    private func finish(start: ContinuousClock.Instant, commandsBefore: Int) -> RunSummary {
        reporter.finish()
        summary.sourceReport = source.report
        summary.malformed = reporter.count
        summary.hotUserEvents = model.hotUserEvents
        summary.eventsBeforeAdmission = model.eventsBeforeAdmission
        if model.parameters.ttlMillis != nil {
            summary.expiredUsers = model.expiredUsers; summary.expiredItems = model.expiredItems; summary.livePairs = model.pairCount
        }
        summary.kvCommands += store.client.commandsSent + store.sideCommandsSent - commandsBefore
        summary.seconds = (clock.now - start).seconds
        summary.peakResidentBytes = RunSummary.currentPeakResidentBytes()
        if configuration.workers.isShared {
            let p = model.partitioning
            summary.workerRows = (configuration.workers, [("items", model.items.names), ("users", model.users.names), ("authors", model.authors.names)]
                .map { kind, names in (kind, names.count(where: p.keeps), names.count) })
        }
        return summary
    }

    /// Commits what is pending, recomputes Swing exactly, and records the point in the
    /// log so that a restart's replay rebuilds at the same place.
    private func rebuildSwing() throws {
        guard model.swing != nil else { return }
        try commit()
        let started = clock.now
        model.rebuildSwing(threads: configuration.threads)
        model.setSwingIncremental(true)
        meta.swingRebuildChunk = meta.logChunks
        try store.markSwingRebuild(chunks: meta.logChunks)
        summary.swingRebuilds += 1
        summary.swingRebuildSeconds += (clock.now - started).seconds
    }

    private func handle(_ line: SourceLine) {
        let number = line.number
        if number == 1 {
            decoder = freshDecoder  // a new file: its own header
            headerLocation = line.location
        }
        if line.isHeaderReplay || (number > 0 && number <= skipLines) {
            if !line.isHeaderReplay { summary.resumedLines += 1 }
            // The header of an .inter file still has to teach the decoder its columns.
            if number == 1 { _ = decoder.decode(line.bytes, lineNumber: number) }
            return
        }
        summary.linesRead += 1
        if let problem = line.problem {
            reporter.report(at: line.location, reason: problem, line: line.bytes)
            return
        }
        switch decoder.decode(line.bytes, lineNumber: number) {
        case .event(let event):
            summary.events += 1
            if let applied = model.apply(event) {
                pending.append(applied)
                summary.newPairs += 1
            }
        case .skip:
            summary.skipped += 1
        case .malformed(let reason):
            reporter.report(at: line.location, reason: reason, line: line.bytes)
        }
    }

    /// Loads the namespace's state: replays the event log (marking as changed only what
    /// was logged but not yet emitted), then the item table.
    private func restoreState() throws {
        if configuration.mode == .batch {
            try store.reset(keepingInputs: true)
        }
        let started = clock.now
        defer { summary.restoreSeconds = (clock.now - started).seconds }
        meta = try store.loadMeta()
        store.fence?.expectedCommits = meta.commits
        let hasState = meta.logChunks > 0 || meta.snapshot != nil
        if hasState { try checkWorkerCount(meta.workers, of: store.worker) }
        // Worker 0 of a shared job on the whole model of a job that ran alone: peers
        // without a state of their own start from it, so it stays whole until they have.
        // Without a snapshot its log holds every event from the start (every worker reads
        // the whole input), which peers can start from too.
        keepsBaseForPeers = configuration.workers.isShared && store.worker == 0 && hasState && (meta.snapshot?.workers ?? 1) == 1
        meta.workers = configuration.workers.count
        if configuration.workers.isShared && store.worker == 0 && !hasState { meta.sharedFromStart = true }
        if configuration.workers.isShared && store.worker != 0 && !hasState { return try startFromWorkerZero() }
        // The snapshot, if any, holds the state after log chunks 0..<base; the log goes on
        // from there. Its change marks are what was unemitted when it was taken; an
        // emission recorded at or after its chunk has written them since.
        let base = meta.snapshot?.logChunk ?? 0
        if let snapshot = meta.snapshot {
            try loadSnapshot(snapshot, of: store.worker)
            if meta.fullEmittedChunks >= base { model.clearChanges(full: true) }
            if meta.emittedChunks >= base { model.clearChanges(full: false) }
        }
        // Swing: replay up to the last rebuild point without increments, rebuild there,
        // then replay the rest with increments, as the original run did. A batch never
        // increments: it rebuilds at the end.
        if meta.swingRebuildChunk > base || configuration.mode == .batch { model.setSwingIncremental(false) }
        try store.forEachLogChunk(from: base, count: meta.logChunks) { chunk, events in
            try replay(events)
            model.applyPendingPairs()
            if chunk + 1 == meta.swingRebuildChunk {
                model.rebuildSwing(threads: configuration.threads)
                model.setSwingIncremental(true)
            }
            summary.replayedEvents += events.count
            if chunk + 1 == meta.fullEmittedChunks { model.clearChanges(full: true) }
            if chunk + 1 == meta.emittedChunks { model.clearChanges(full: false) }
        }
        if meta.logChunks > 0, meta.parameters != configuration.parameters.fingerprint {
            model.markAllChanged()
        }
        // A replayable source resumes at its committed position instead.
        if configuration.resume && source.identity == nil { skipLines = meta.inputLinesCommitted }
        meta.inputLinesCommitted = 0
        try restoreTables()
    }

    /// Starts a worker of a shared job whose own state is empty from worker 0's, when
    /// worker 0 has one: its snapshot (which must hold the whole model: a job alone's) and
    /// its log after it — every worker reads the whole input, so that log holds every
    /// event — with worker 0's source positions. The rows this worker does not own are
    /// dropped, Swing is rebuilt exactly, every list it owns is marked changed, and the
    /// result is made its own at once (a snapshot, then the positions), so it never needs
    /// worker 0's state again.
    private func startFromWorkerZero() throws {
        let base = try store.loadMeta(worker: 0)
        // Nothing to start from, or nothing the input does not hold: start empty.
        guard base.logChunks > 0 || base.snapshot != nil, !base.sharedFromStart else { return try restoreTables() }
        if let snapshot = base.snapshot, snapshot.workers != 1 {
            throw RuntimeError("worker \(store.worker) of namespace '\(store.keys.namespace)' has no state of its own, and worker 0's snapshot holds only worker 0's rows (it was taken with --workers \(snapshot.workers)), so it cannot start from it. Start every worker of a job together, or 'onlinecf reset' and backfill with 'onlinecf batch'.")
        }
        model.setSwingIncremental(false)
        if let snapshot = base.snapshot { try loadSnapshot(snapshot, of: 0) }
        try store.forEachLogChunk(worker: 0, from: base.snapshot?.logChunk ?? 0, count: base.logChunks) { _, events in
            try replay(events)
            model.applyPendingPairs()
            summary.replayedEvents += events.count
        }
        model.rebuildSwing(threads: configuration.threads)
        model.setSwingIncremental(true)
        model.markAllChanged()
        meta.sourcePositions = base.sourcePositions
        meta.eventsCommitted = base.eventsCommitted
        meta.linesCommitted = base.linesCommitted
        if configuration.resume && source.identity == nil { skipLines = base.inputLinesCommitted }
        try restoreTables(admissionSketchOf: 0)
        try checkpoint(force: true)
        try store.commitChunk(number: 0, events: EventLogChunk(), meta: meta, parameters: configuration.parameters.fingerprint,
                              sources: meta.sourcePositions, admissionSketch: model.admissionSketch?.bytes)
        meta.commits += 1
        summary.startedFromWorkerZero = true
    }

    /// Loads a worker's snapshot into the model, streamed (a shutdown request stops the read).
    private func loadSnapshot(_ record: SnapshotRecord, of worker: Int) throws {
        let (parameters, partitioning) = (configuration.parameters, model.partitioning)
        guard let restored = try store.loadSnapshot(record, worker: worker, shouldStop: { [shutdown] in shutdown.isRequested }, decode: { d throws(SnapshotError) in
            try CFModel(reading: &d, parameters: parameters, partitioning: partitioning)
        }) else {
            throw RestoreInterrupted()
        }
        model = restored
        summary.restoredSnapshotBytes = record.bytes
        summary.restoredSnapshotEvents = record.events
    }

    /// Commits what is pending, then writes a snapshot of the model and makes it current
    /// (the log it covers is deleted). Nothing happens when nothing was logged since the
    /// last one (unless `force`), nor while peers may still start from this worker's whole
    /// state (``keepsBaseForPeers``). Reading waits meanwhile: the time is reported
    /// (``RunSummary/checkpointSeconds``).
    private func checkpoint(force: Bool = false) throws {
        if !force { try commit() }
        guard model.supportsSnapshots, force || meta.logChunks > (meta.snapshot?.logChunk ?? 0) else { return }
        if keepsBaseForPeers {
            let peers = configuration.workers.peers
            guard try store.hasState(ofWorkers: peers).allSatisfy({ $0 }) else { return }
            keepsBaseForPeers = false
        }
        let started = clock.now
        model.applyPendingPairs()
        let model = self.model
        let size = try store.writeSnapshot(meta: &meta, nowMillis: Int64(Date().timeIntervalSince1970 * 1000),
                                           shouldGiveUp: { [shutdown] in shutdown.isRequested }) { model.snapshot(into: &$0) }
        let took = clock.now - started
        summary.checkpoints += 1
        summary.checkpointSeconds += took.seconds
        summary.checkpointBytes = size
        metrics.checkpointSeconds.record(took)
        metrics.snapshotBytes.set(Int64(size))
    }

    /// Applies logged events to the model. During the restore, a shutdown request stops it
    /// within 4,096 events (``RestoreInterrupted``).
    private func replay(_ events: [Event]) throws {
        for (n, event) in events.enumerated() {
            if n & 4095 == 0 && !restoreDone && shutdown.isRequested { throw RestoreInterrupted() }
            model.apply(event, replaying: true)
        }
    }

    /// Throws unless the worker count `recorded` in worker `worker`'s meta is this job's,
    /// or 1 in worker 0's (the state of a job that ran alone, or a batch: history a shared
    /// job can build on). Ownership is a hash modulo the count: with another count, a
    /// worker's state would hold other rows than the ones it owns.
    private func checkWorkerCount(_ recorded: Int?, of worker: Int) throws {
        let count = configuration.workers.count, was = recorded ?? 1
        guard was != count && !(worker == 0 && was == 1) else { return }
        throw RuntimeError("namespace '\(store.keys.namespace)' holds the state of a job run by \(was) worker(s) (worker \(worker)'s meta says so); this process runs with --workers \(count). Each worker keeps the rows of the ids it owns by a hash modulo the count, so the count cannot change under a state: run with --workers \(was), or 'onlinecf reset' and backfill with 'onlinecf batch' (a batch's state can then be continued by any number of workers).")
    }

    /// The admission sketch (this worker's, or `admissionSketchOf`'s), the item table and
    /// item statuses.
    private func restoreTables(admissionSketchOf sketchWorker: Int? = nil) throws {
        if model.admissionSketch != nil, let bytes = try store.loadAdmissionSketch(worker: sketchWorker) {
            guard let sketch = CountMinSketch(bytes: bytes) else {
                throw RuntimeError("the admission sketch of namespace '\(store.keys.namespace)' has an unexpected size; 'onlinecf reset' and backfill")
            }
            model.restoreAdmissionSketch(sketch)
        }
        for (item, author) in try store.loadItemAuthors() {
            model.setAuthor(item: item, author: author)
        }
        emitter.noteRestoredState(model)
        if configuration.parameters.ttlMillis != nil {
            // Two connections ask at once (the server's work overlaps ours).
            let pipeline = ParallelPipeline(endpoint: store.client.endpoint, retry: store.client.retry, shouldGiveUp: { [shutdown] in shutdown.isRequested })
            let keys = store.keys
            try emitter.noteRestoredKeyLifetimes(model) { family, names in
                let prefix = keys.listPrefix(family)
                return try pipeline.run(names.map { RedisCommand("PTTL", prefix + $0) }).map { Int64($0.int ?? -2) }
            }
            store.sideCommandsSent += pipeline.commandsSent
        }
        try moderation.refresh(&model)
    }

    /// Commits the pending events with the source's position, in one transaction. The job
    /// calls it only between whole lines, so the position (just after the last line read)
    /// is exactly where the committed state ends in the source. Then the source hears of it
    /// (a stream acknowledges its entries).
    private func commit() throws {
        guard !pending.isEmpty || source.needsCommit else { return }
        let started = clock.now
        defer { summary.commitSeconds += (clock.now - started).seconds }
        var next = meta
        if !pending.isEmpty { next.logChunks += 1 }
        next.eventsCommitted += pending.count
        next.linesCommitted += summary.linesRead - linesAtLastCommit
        next.inputLinesCommitted = summary.resumedLines + summary.linesRead
        let position = source.identity.flatMap { id in source.position.map { (identity: id, position: $0) } }
        if let position { next.sourcePositions[position.identity] = position.position }
        try store.commitChunk(number: meta.logChunks, events: pending, meta: next, parameters: configuration.parameters.fingerprint,
                              source: position, admissionSketch: model.admissionSketch?.bytes)
        meta = next
        try source.didCommit()
        metrics.commitSeconds.record(clock.now - started)
        metrics.lastCommit.set(Date().timeIntervalSince1970)
        metrics.logChunks.set(Int64(meta.logChunks))
        linesAtLastCommit = summary.linesRead
        pending.removeAll()
    }
    private var linesAtLastCommit = 0
    /// Worker 0 of a shared job whose state still holds the whole model of a job that ran
    /// alone: it takes no snapshot (which would hold only its rows) until every peer has a
    /// state of its own (``startFromWorkerZero()``).
    private var keepsBaseForPeers = false
    /// Set once the restore is complete.
    private var restoreDone = false
    /// Lines `--resume` skips.
    private var skipLines = 0

    /// Starts an emission of what changed, item statuses included: recomputes the Swing
    /// rows waiting longest (every one with `allSwingRows`, else up to the budget), writes
    /// the popular list if it changed, then hands what changed to the emitter.
    private func beginEmission(full: Bool, allSwingRows: Bool = false) throws {
        try moderation.refresh(&model)
        if model.swing != nil {
            let started = clock.now
            if let (refreshed, waiting) = model.refreshSwing(threads: configuration.threads, everything: allSwingRows) {
                summary.swingRowsRefreshed += refreshed
                summary.swingRowsWaiting = waiting
                summary.swingRefreshSeconds += (clock.now - started).seconds
                metrics.swingRowsRefreshed.increment(by: Int64(refreshed))
                metrics.swingRowsWaiting.set(Int64(waiting))
            }
        }
        // The popular list (one key; worker 0's in a shared job) when its counts changed.
        if let popular = model.popular, popular.changed, !configuration.workers.isShared || store.worker == 0 {
            try writer.submit(ListSlice(family: .popular, entityNames: [ListFamily.popularId], names: model.items.names,
                                        lists: [(0, model.popularList())]))
        }
        emitter.begin(&model, full: full, logChunks: meta.logChunks)
        carried[emitter.emissions] = unassigned
        emissionStarted[emitter.emissions] = clock.now
        unassigned.removeAll()
    }

    /// Events whose emission has been written: their freshness is now known.
    private func recordFreshness() {
        for (emission, at) in writer.takeCompletions() {
            for batch in carried.removeValue(forKey: emission) ?? [] {
                summary.freshness.record((at - batch.at).seconds, weight: batch.count)
                for _ in 0..<batch.count { metrics.freshnessSeconds.record(at - batch.at) }
            }
            if let started = emissionStarted.removeValue(forKey: emission) {
                metrics.emissionSeconds.record(at - started)
                metrics.emissions.increment()
            }
        }
    }

    /// Brings the counters up to date (cheap: a few atomic adds per loop turn).
    private func reportMetrics() {
        let commands = store.client.commandsSent + store.sideCommandsSent + writer.commandsSent
        let lists = emitter.stats.listsWritten + emitter.stats.listsDeleted
        metrics.linesRead.increment(by: Int64(summary.linesRead - reported.lines))
        metrics.eventsRead.increment(by: Int64(summary.events - reported.events))
        metrics.eventsApplied.increment(by: Int64(summary.newPairs - reported.applied))
        metrics.linesMalformed.increment(by: Int64(reporter.count - reported.malformed))
        metrics.kvCommands.increment(by: Int64(max(0, commands - reported.commands)))
        metrics.listsWritten.increment(by: Int64(lists - reported.lists))
        reported = (summary.linesRead, summary.events, summary.newPairs, reporter.count, max(commands, reported.commands), lists)
        if let lag = source.lag { metrics.sourceLag.set(lag) }
        metrics.eventsHotUser.increment(by: Int64(model.hotUserEvents - reportedLeftOut.hot))
        metrics.eventsBeforeAdmission.increment(by: Int64(model.eventsBeforeAdmission - reportedLeftOut.admission))
        reportedLeftOut = (model.hotUserEvents, model.eventsBeforeAdmission)
        let refusals = store.client.outOfMemoryWaits + writer.outOfMemoryWaits
        metrics.kvOutOfMemory.increment(by: Int64(max(0, refusals - reportedRefusals)))
        reportedRefusals = max(refusals, reportedRefusals)
    }

    /// Computes and hands over more of the emission under way. What was applied since the
    /// last commit is committed first, so a written list never reflects an event that the
    /// event log does not hold (after a crash, the lists are never ahead of the state).
    private func advanceEmission(blocking: Bool) throws {
        if blocking || writer.hasRoom { try commit() }
        let started = clock.now
        defer { summary.emitSeconds += (clock.now - started).seconds }
        try emitter.advance(model, blocking: blocking)
    }

    /// Finishes any emission under way, then emits every changed list (`full`) and
    /// waits until the writer has written it all. A job that has been emitting as it
    /// read (a live stream) first emits the lists its last events touched, as any
    /// emission does, so that their freshness does not wait for the full pass, which then
    /// skips the lists just written unless they changed.
    private func finalEmission() throws {
        let started = clock.now
        defer {
            summary.emitSeconds += (clock.now - started).seconds
            writer.stop()
        }
        try emitter.advance(model, blocking: true)
        // At the end of the input every waiting Swing row is recomputed; a shutdown
        // request keeps to the budget (the rows stay queued in the state).
        let allSwingRows = !shutdown.isRequested
        if emitter.emissions > 0 && configuration.mode == .stream {
            try beginEmission(full: false, allSwingRows: allSwingRows)
            try emitter.advance(model, blocking: true)
        }
        try beginEmission(full: true, allSwingRows: allSwingRows)
        try emitter.advance(model, blocking: true)
        try writer.waitUntilIdle()
        recordFreshness()
        reportMetrics()
        summary.emission = emitter.stats
        summary.emissions = emitter.emissions
        summary.kvCommands += writer.commandsSent
    }

    private func progress(since start: ContinuousClock.Instant) {
        let seconds = max(0.001, (clock.now - start).seconds)
        let text = "\r\(summary.events) events (\(Int(Double(summary.events) / seconds))/s), \(reporter.count) malformed, \(emitter.stats.listsWritten) lists emitted   "
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// A shutdown request stopped the restore part-way (the model is partial).
private struct RestoreInterrupted: Error {}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
