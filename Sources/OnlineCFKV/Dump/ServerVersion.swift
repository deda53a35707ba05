/// The server's product and version, from `INFO server`.
public struct ServerVersion: Sendable, Equatable, Comparable {
    public var valkey: Bool
    public var major: Int, minor: Int, patch: Int

    /// Reads `valkey_version:` (preferred) or `redis_version:` from INFO's text.
    public init?(info: String) {
        func field(_ name: String) -> String? {
            info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }
        }
        let text = field("valkey_version") ?? field("redis_version")
        guard let parts = text?.split(separator: ".").compactMap({ Int($0) }), parts.count >= 2 else { return nil }
        valkey = field("valkey_version") != nil
        major = parts[0]; minor = parts[1]; patch = parts.count > 2 ? parts[2] : 0
    }

    /// Whether RESTORE accepts ``SortedSetDump`` payloads (listpack sorted sets, RDB 10):
    /// Redis 7.0 and later, every Valkey.
    public var supportsListpackDump: Bool { valkey || major >= 7 }

    public static func < (a: ServerVersion, b: ServerVersion) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
}
