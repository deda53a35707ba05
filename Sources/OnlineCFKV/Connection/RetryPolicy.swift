/// How `RedisClient` waits between reconnect attempts: exponential back-off with jitter.
///
/// Guarantees: the n-th wait is `min(initialDelay * multiplier^(n-1), maxDelay)`
/// scaled by a random factor in 0.8...1.2 (never above `maxDelay`); retrying stops
/// once `maxElapsed` (measured from the start of the call) has passed, or never when
/// it is nil.
public struct RetryPolicy: Sendable, Hashable {
    /// First wait after a failure.
    public var initialDelay: Duration
    /// Upper bound for a single wait.
    public var maxDelay: Duration
    /// Growth factor between consecutive waits (≥ 1).
    public var multiplier: Double
    /// Give up after this much time in one call; nil retries forever.
    public var maxElapsed: Duration?

    public init(initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5), multiplier: Double = 2, maxElapsed: Duration? = nil) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = max(1, multiplier)
        self.maxElapsed = maxElapsed
    }

    /// 100 ms doubling up to 5 s, retrying forever.
    public static let `default` = RetryPolicy()

    /// No retries: the first connection problem is thrown.
    public static let never = RetryPolicy(maxElapsed: .zero)

    /// The un-jittered delay before retry number `attempt` (1-based).
    public func baseDelay(attempt: Int) -> Duration {
        var delay = initialDelay
        var n = 1
        while n < attempt, delay < maxDelay {
            delay = delay * multiplier
            n += 1
        }
        return min(delay, maxDelay)
    }

    /// `baseDelay` with ±20 % jitter, capped at `maxDelay`.
    public func jitteredDelay(attempt: Int) -> Duration {
        min(baseDelay(attempt: attempt) * Double.random(in: 0.8...1.2), maxDelay)
    }
}
