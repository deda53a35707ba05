import OnlineCFCore

/// One field of a job: its path in a job file (`swing.refresh_rows`) and where it lives in
/// a ``JobSpec``. ``JobSpec/settings`` lists every field once: ``JobFile`` reads a job file
/// through it and ``JobSpec/overriding(with:)`` merges command-line values through it, so a
/// new field is one property and one line of that table (its validation lives in
/// ``JobSpec/resolve()``, its flag in an option group of the command line).
public struct JobSetting {
    /// What a job file holds for the field and how it is read.
    public enum Kind {
        case text(WritableKeyPath<JobSpec, String?>)
        /// A YAML list or one comma-separated text, kept as comma-separated text.
        case list(WritableKeyPath<JobSpec, String?>)
        case int(WritableKeyPath<JobSpec, Int?>)
        case number(WritableKeyPath<JobSpec, Double?>)
        case flag(WritableKeyPath<JobSpec, Bool?>)
        /// A whole number ≥ 0.
        case unsigned(WritableKeyPath<JobSpec, UInt64?>)
        /// `stream` or `batch`.
        case mode
        /// `jsonl`, `tsv` or `inter`.
        case format
        /// A list of column names.
        case columns
        /// `action: weight` pairs, or their text form `click=1,like=2`.
        case actionWeights
    }

    public let path: String
    public let kind: Kind

    public init(_ path: String, _ kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// Copies the field from `other` into `spec` when `other` sets it.
    func take(from other: JobSpec, into spec: inout JobSpec) {
        func copy<T>(_ key: WritableKeyPath<JobSpec, T?>) { if let v = other[keyPath: key] { spec[keyPath: key] = v } }
        switch kind {
        case .text(let key), .list(let key): copy(key)
        case .int(let key): copy(key)
        case .number(let key): copy(key)
        case .flag(let key): copy(key)
        case .unsigned(let key): copy(key)
        case .mode: copy(\.mode)
        case .format: copy(\.format)
        case .columns: copy(\.columns)
        case .actionWeights: copy(\.actionWeights)
        }
    }
}

extension JobSpec {
    /// Every field of a job file (version 1, docs/job-files.md) but `version`, in the
    /// order the documentation lists them.
    public static var settings: [JobSetting] {
        [
            .init("mode", .mode), .init("source", .text(\.source)), .init("follow", .flag(\.follow)),
            .init("format", .format), .init("columns", .columns), .init("dead_letter", .text(\.deadLetter)),
            .init("metrics", .text(\.metrics)), .init("algorithms", .list(\.algorithms)), .init("k", .int(\.k)),
            .init("exact", .flag(\.exact)), .init("emit_interval", .text(\.emitInterval)),
            .init("checkpoint_every", .text(\.checkpointEvery)), .init("action_weights", .actionWeights),
            .init("decay_half_life", .text(\.decayHalfLife)), .init("ttl", .text(\.ttl)), .init("admit_after", .int(\.admitAfter)),
            .init("workers", .int(\.workers)), .init("worker", .int(\.worker)), .init("threads", .int(\.threads)),
            .init("hot_user.limit", .int(\.hotUserLimit)), .init("hot_user.window", .text(\.hotUserWindow)),
            .init("bounds.item_history", .int(\.itemHistory)), .init("bounds.user_history", .int(\.userHistory)),
            .init("bounds.author_history", .int(\.authorHistory)),
            .init("swing.alpha1", .number(\.swingAlpha1)), .init("swing.alpha2", .number(\.swingAlpha2)),
            .init("swing.beta", .number(\.swingBeta)), .init("swing.min_user_behavior", .int(\.swingMinUserBehavior)),
            .init("swing.max_user_behavior", .int(\.swingMaxUserBehavior)),
            .init("swing.max_users_per_item", .int(\.swingMaxUsersPerItem)), .init("swing.seed", .unsigned(\.swingSeed)),
            .init("swing.user_window", .int(\.swingUserWindow)), .init("swing.refresh_rows", .int(\.swingRefreshRows)),
            .init("swing.rebuild_every", .text(\.swingRebuildEvery)),
            .init("recall.algo", .list(\.recallAlgo)), .init("recall.n", .int(\.recallCount)),
            .init("recall.max_seeds", .int(\.recallMaxSeeds)), .init("recall.max_neighbours", .int(\.recallMaxNeighbours)),
            .init("recall.per_author", .int(\.recallPerAuthor)), .init("recall.exclude_seen", .flag(\.recallExcludeSeen)),
            .init("recall.exclude_own_items", .flag(\.recallExcludeOwnItems)), .init("recall.blend_scale", .text(\.recallBlendScale)),
            .init("recall.recent_items", .int(\.recallRecentItems)), .init("recall.half_life", .text(\.recallHalfLife)),
            .init("kv.redis", .text(\.redis)), .init("kv.namespace", .text(\.namespace)), .init("kv.state_dir", .text(\.stateDir)),
            .init("kv.lease", .text(\.lease)),
            .init("popular.half_life", .text(\.popularHalfLife)), .init("popular.n", .int(\.popularCount)),
        ]
    }
}
