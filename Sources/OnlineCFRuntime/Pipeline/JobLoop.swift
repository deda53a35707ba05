/// The decisions of a job's loop, as a value type with no I/O: what to do next — read,
/// commit, rebuild Swing, snapshot, emit, finish — given what the driver observed.
///
/// ``StreamJob`` is the driver: it asks ``next(_:)`` for an ``Action``, performs it, and
/// tells the loop what came of it (``inputRead(endOfInput:)``, ``restored(complete:)``).
/// Time is the driver's to measure and arrives in each ``Observation`` as the time since
/// the job started, so tests drive the loop with a hand-made clock.
///
/// Guarantees (each pinned by a unit test):
/// - A run starts with ``Action/restore``, and every run that restored ends with
///   ``Action/finalEmission`` then ``Action/finish``, after its last ``Action/commit``
///   (a rebuild reads no input and commits nothing).
/// - A turn reads once, commits when a chunk is full or the source asks, rebuilds Swing
///   when due (never while an emission is under way), and advances the emission under way
///   or starts the next one when due. An emission starts only after a commit and only
///   when the writer has written the previous one: while the KV store is slower than the
///   interval, emissions merge instead of queueing.
/// - In streaming mode a read waits for input at most until the next emission is due
///   (and at most 250 ms); a batch reads without waiting and emits only at the end, after
///   ``Action/computeLists``.
/// - A shutdown request is honoured at the start of the next turn; the run then ends as
///   at the end of input (commit, final emission), so nothing read is lost. One that
///   stops the restore part-way (``restored(complete:)``) ends the run at once.
/// - A streaming job (each worker of a shared one alike) takes a snapshot
///   (``Action/checkpoint``) when one is due by ``Settings/checkpointEvery`` and there is
///   something new since the last, only while no emission is being computed or written
///   (so the change marks it holds are exactly what the emitted marks leave unemitted),
///   and once more after the final emission at the end of input (not after a shutdown
///   request: stopping stays quick).
public struct JobLoop: Sendable {
    /// What the loop needs to know of the job's configuration.
    public struct Settings: Sendable, Equatable {
        public var mode: JobConfiguration.Mode
        public var emitInterval: Duration
        public var swingRebuildEvery: Duration?
        public var eventsPerChunk: Int
        public var showProgress: Bool
        /// The longest a streaming read waits for input.
        public var readWait: Duration = .milliseconds(250)
        public var progressEvery: Duration = .seconds(1)
        /// How often to snapshot (nil: never).
        public var checkpointEvery: CheckpointInterval?

        /// Whether this job takes snapshots at all.
        public var takesCheckpoints: Bool { checkpointEvery != nil && mode == .stream }

        public init(mode: JobConfiguration.Mode, emitInterval: Duration, swingRebuildEvery: Duration? = nil,
                    eventsPerChunk: Int, showProgress: Bool = false) {
            self.mode = mode
            self.emitInterval = emitInterval
            self.swingRebuildEvery = swingRebuildEvery
            self.eventsPerChunk = eventsPerChunk
            self.showProgress = showProgress
        }

        public init(_ configuration: JobConfiguration) {
            self.init(mode: configuration.mode, emitInterval: configuration.emitInterval,
                      swingRebuildEvery: configuration.swingRebuildEvery, eventsPerChunk: configuration.eventsPerChunk,
                      showProgress: configuration.showProgress)
            checkpointEvery = configuration.checkpointEvery
        }
    }

    /// What the driver sees when it asks for the next action.
    public struct Observation: Sendable, Equatable {
        /// Time since the job started, by the driver's clock.
        public var now: Duration
        public var shutdownRequested = false
        /// Events applied but not yet committed to the log.
        public var pendingEvents = 0
        /// The source asks for a commit (a Kafka rebalance, a stream's acknowledgement).
        public var sourceWantsCommit = false
        /// An emission is being computed or handed to the writer.
        public var emitting = false
        /// The writer still writes an earlier emission.
        public var writerBusy = false
        /// New events (committed or pending) since the last snapshot.
        public var uncheckpointedEvents = 0

        public init(now: Duration, shutdownRequested: Bool = false, pendingEvents: Int = 0, sourceWantsCommit: Bool = false,
                    emitting: Bool = false, writerBusy: Bool = false, uncheckpointedEvents: Int = 0) {
            self.now = now
            self.shutdownRequested = shutdownRequested
            self.pendingEvents = pendingEvents
            self.sourceWantsCommit = sourceWantsCommit
            self.emitting = emitting
            self.writerBusy = writerBusy
            self.uncheckpointedEvents = uncheckpointedEvents
        }
    }

    /// One step for the driver to perform.
    public enum Action: Sendable, Equatable {
        /// Load the namespace's state (snapshot, log, tables).
        case restore
        /// Open the source at its committed position.
        case openSource
        /// Wait at most `wait` for input (nil: do not wait), read one micro-batch if any
        /// arrived and apply it; then report with ``JobLoop/inputRead(endOfInput:)``.
        case read(wait: Duration?)
        /// Commit what is pending with the source's position.
        case commit
        /// Commit, recompute Swing exactly and record the point.
        case rebuildSwing
        /// Commit, then write a snapshot of the state and make it current (the log it
        /// covers is deleted).
        case checkpoint
        /// Start an emission of what changed and compute some of it.
        case beginEmission
        /// Compute and hand over more of the emission under way.
        case advanceEmission
        /// Bring metrics up to date, and print the progress line when `progress`.
        case report(progress: Bool)
        /// A batch: every co-occurrence list at once.
        case computeLists
        /// Emit every changed list and wait until all is written.
        case finalEmission
        /// The run is over: summarise.
        case finish
    }

    private enum Step: Sendable, Equatable {
        case input, chunk, swing, checkpoint, emission, emissionStart, report
    }

    private enum Closing: Sendable, Equatable {
        case commit, rebuildSwing, computeLists, finalEmission, checkpoint, finish, done
    }

    private enum Phase: Sendable, Equatable {
        case restoring, opening
        case turn(Step)
        /// A read was handed out; waiting for its outcome.
        case reading
        case closing(Closing)
    }

    public let settings: Settings
    private var phase = Phase.restoring
    private var nextEmit = Duration.zero
    private var nextSwingRebuild: Duration?
    private var nextProgress = Duration.zero
    /// A Swing rebuild was handed out: the next one is scheduled from when it ended.
    private var swingRebuildUnderWay = false
    private var nextCheckpoint = Duration.zero
    /// The run is closing because of a shutdown request (no snapshot at the end).
    private var stoppingOnRequest = false

    public init(settings: Settings) {
        self.settings = settings
    }

    /// True once ``Action/finish`` has been handed out.
    public var isFinished: Bool { phase == .closing(.done) }

    /// The next action, given what the driver observes now.
    public mutating func next(_ observation: Observation) -> Action {
        let now = observation.now
        if swingRebuildUnderWay, let every = settings.swingRebuildEvery {
            nextSwingRebuild = now + every
            swingRebuildUnderWay = false
        }
        switch phase {
        case .restoring:
            phase = settings.mode == .rebuild ? .closing(.rebuildSwing) : .opening
            return .restore
        case .opening:
            nextEmit = now + settings.emitInterval
            nextSwingRebuild = settings.swingRebuildEvery.map { now + $0 }
            nextProgress = now + settings.progressEvery
            if case .every(let d) = settings.checkpointEvery { nextCheckpoint = now + d }
            phase = .turn(.input)
            return .openSource
        case .reading:
            preconditionFailure("JobLoop: a read is under way; report it with inputRead(endOfInput:)")
        case .closing(let closing):
            return close(closing, observation)
        case .turn(let step):
            return turn(step, observation)
        }
    }

    /// The outcome of a ``Action/restore``: `complete` false when a shutdown request
    /// stopped it part-way. The model is then partial, so the run ends at once with
    /// ``Action/finish``: no reading, no commit, no emission (the KV store is untouched).
    public mutating func restored(complete: Bool) {
        if !complete { phase = .closing(.finish) }
    }

    /// The outcome of a ``Action/read(wait:)``.
    public mutating func inputRead(endOfInput: Bool) {
        precondition(phase == .reading, "JobLoop: no read was under way")
        phase = endOfInput ? .closing(.commit) : .turn(.chunk)
    }

    private mutating func turn(_ step: Step, _ observation: Observation) -> Action {
        let now = observation.now
        let streaming = settings.mode == .stream
        switch step {
        case .input:
            if observation.shutdownRequested {
                stoppingOnRequest = true
                phase = .closing(.commit)
                return close(.commit, observation)
            }
            phase = .reading
            guard streaming else { return .read(wait: nil) }
            let untilEmit = max(.zero, nextEmit - now)
            return .read(wait: min(settings.readWait, untilEmit))
        case .chunk:
            phase = .turn(.swing)
            if observation.pendingEvents >= settings.eventsPerChunk || observation.sourceWantsCommit { return .commit }
            return turn(.swing, observation)
        case .swing:
            phase = .turn(.checkpoint)
            if streaming, let due = nextSwingRebuild, now >= due, !observation.emitting {
                swingRebuildUnderWay = true
                return .rebuildSwing
            }
            return turn(.checkpoint, observation)
        case .checkpoint:
            phase = .turn(.emission)
            if settings.takesCheckpoints, !observation.emitting, !observation.writerBusy, checkpointDue(observation) {
                if case .every(let d) = settings.checkpointEvery { nextCheckpoint = now + d }
                return .checkpoint
            }
            return turn(.emission, observation)
        case .emission:
            if observation.emitting {
                phase = .turn(.report)
                return .advanceEmission
            }
            if streaming && now >= nextEmit {
                // Commit first: a written list never reflects an event the log does not hold.
                phase = .turn(.emissionStart)
                return .commit
            }
            return turn(.report, observation)
        case .emissionStart:
            phase = .turn(.report)
            if !observation.writerBusy {
                nextEmit = now + settings.emitInterval
                return .beginEmission
            }
            return turn(.report, observation)
        case .report:
            phase = .turn(.input)
            let progress = settings.showProgress && now >= nextProgress
            if progress { nextProgress = now + settings.progressEvery }
            return .report(progress: progress)
        }
    }

    /// Whether the interval has passed with something new to snapshot (a time interval
    /// that passed with nothing new starts again).
    private mutating func checkpointDue(_ observation: Observation) -> Bool {
        switch settings.checkpointEvery {
        case .none: return false
        case .events(let n): return observation.uncheckpointedEvents >= n
        case .every(let d):
            guard observation.now >= nextCheckpoint else { return false }
            if observation.uncheckpointedEvents > 0 { return true }
            nextCheckpoint = observation.now + d
            return false
        }
    }

    private mutating func close(_ closing: Closing, _ observation: Observation) -> Action {
        switch closing {
        case .commit:
            if settings.mode == .batch {
                phase = .closing(.rebuildSwing)
            } else {
                phase = .closing(.finalEmission)
            }
            return .commit
        case .rebuildSwing:
            phase = .closing(settings.mode == .batch ? .computeLists : .finalEmission)
            return .rebuildSwing
        case .computeLists:
            phase = .closing(.finalEmission)
            return .computeLists
        case .finalEmission:
            phase = .closing(.checkpoint)
            return .finalEmission
        case .checkpoint:
            phase = .closing(.finish)
            if settings.takesCheckpoints && !stoppingOnRequest && observation.uncheckpointedEvents > 0 { return .checkpoint }
            return close(.finish, observation)
        case .finish:
            phase = .closing(.done)
            return .finish
        case .done:
            preconditionFailure("JobLoop: the run is over")
        }
    }
}
