/// True if a Redis-compatible server answers on `endpoint` within `timeout`.
///
/// Guarantees: never throws and never retries. A server that rejects our credentials
/// (or answers PING with an error such as `NOAUTH`/`LOADING`) still counts as alive —
/// something is listening there, so callers must not start a second server on the
/// same socket.
public func isRedisAlive(endpoint: RedisEndpoint, timeout: Duration = .milliseconds(500)) -> Bool {
    do {
        let connection = try RedisConnection(endpoint: endpoint, connectTimeout: timeout, commandTimeout: timeout)
        defer { connection.close() }
        _ = try connection.send(RedisCommand("PING"))
        return true
    } catch {
        return error.code == .serverError
    }
}
