/// A Redis Cluster redirection found in the replies of one routed unit (a command or a
/// `MULTI … EXEC` block): `MOVED`, `ASK` or `TRYAGAIN`.
///
/// Guarantees: `init?(replies:transaction:)` recognises a redirection only where the
/// server produces one — the single reply of a plain command; for a transaction, the
/// `EXEC` reply itself, or an `EXECABORT` reply whose queued commands were answered with
/// a redirection (the first one found is returned). Any other reply, including other
/// errors, yields nil, so ordinary error replies pass through to the caller untouched.
public enum ClusterRedirect: Sendable, Equatable {
    /// `MOVED slot host:port`: the slot now lives on that node for good. An empty host
    /// means the host of the node that answered.
    case moved(slot: HashSlot, host: String, port: Int)
    /// `ASK slot host:port`: send `ASKING` and then this unit once to that node.
    case ask(slot: HashSlot, host: String, port: Int)
    /// `TRYAGAIN`: the keys are being migrated; retry shortly.
    case tryAgain

    /// Parses one error message (`MOVED 3999 127.0.0.1:6381`, `ASK …`, `TRYAGAIN …`).
    public init?(errorMessage message: String) {
        if message.hasPrefix("TRYAGAIN") {
            self = .tryAgain
            return
        }
        let isMoved = message.hasPrefix("MOVED ")
        guard isMoved || message.hasPrefix("ASK ") else { return nil }
        let parts = message.split(separator: " ")
        guard parts.count >= 3, let number = Int(parts[1]), let slot = HashSlot(rawValue: number),
              let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self = isMoved ? .moved(slot: slot, host: host, port: port) : .ask(slot: slot, host: host, port: port)
    }

    /// The redirection in the replies of one unit, or nil.
    public init?(replies: ArraySlice<RESPValue>, transaction: Bool) {
        guard let last = replies.last, case .error(let lastMessage) = last else { return nil }
        if let redirect = ClusterRedirect(errorMessage: lastMessage) {
            self = redirect
            return
        }
        guard transaction, lastMessage.hasPrefix("EXECABORT") else { return nil }
        for reply in replies.dropLast() {
            if case .error(let message) = reply, let redirect = ClusterRedirect(errorMessage: message) {
                self = redirect
                return
            }
        }
        return nil
    }

    /// True if any reply (top level) is a `MOVED` error: the server is a cluster node.
    static func containsMoved(_ replies: [RESPValue]) -> Bool {
        for reply in replies {
            if case .error(let message) = reply, message.hasPrefix("MOVED ") { return true }
        }
        return false
    }
}
