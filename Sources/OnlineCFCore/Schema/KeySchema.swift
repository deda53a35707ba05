/// The names of every key OnlineCF writes, version 2. This is a public interface
/// (documented in docs/key-schema.md): readers in any language rely on it.
///
/// | key | type | holds |
/// | --- | --- | --- |
/// | `{ns}:i2i:{algo}:{item}` | sorted set | the item's top-k neighbours → score (`algo` e.g. `itemcf:cosine`) |
/// | `{ns}:u2u:cosine:{user}` | sorted set | the user's top-k similar users → score |
/// | `{ns}:a2a:cosine:{author}` | sorted set | the author's top-k similar authors → score |
/// | `{ns}:recent:{user}` | sorted set | the user's recent items → seed weight (with u2i2i) |
/// | `{ns}:u2i2i:{user}` | sorted set | the user's u2i2i recall → score (with u2i2i) |
/// | `{ns}:popular:all` | sorted set | the most popular items now → decayed count of users (u2i2i's fallback) |
/// | `{ns}:u2i:{user}` | sorted set | input: the user's u2i seeds → weight (`onlinecf u2i load`, or an upstream model) |
/// | `{ns}:index:{family}` | set | ids that have a non-empty list of the family (`itemcf:cosine`, `recent`, …) |
/// | `{ns}:items:author` | hash | item → author (`onlinecf items load`) |
/// | `{ns}:items:status` | hash | item → `hidden` or `deleted` (absent: active) |
/// | `{ns}:items:expires` | hash | item → expiry, Unix milliseconds |
/// | `{ns}:items:rev` | string | counter bumped by every status or expiry change |
/// | `{ns}:{{ns}/{w}}:meta` | hash | worker `w`'s schema version, parameters, progress |
/// | `{ns}:{{ns}/{w}}:log` | hash | worker `w`'s chunk number → packed events (internal: the durable state) |
/// | `{ns}:{{ns}/{w}}:admission` | string | worker `w`'s frequency-admission sketch (internal, with `--admit-after`) |
/// | `{ns}:{{ns}/{w}}:lease` | string | worker `w`'s writer lease: `TOKEN HOST PID STARTED_MS`, expiring unless renewed |
/// | `{ns}:{{ns}/{w}/{s}/{n}}:snapshot` | string | chunk `n` of worker `w`'s snapshot `s` (internal: the durable state, with the log after it) |
///
/// Ids are written as their raw UTF-8 bytes; an id may contain `:` (the id is always
/// the part after the algorithm's prefix).
///
/// The state keys of a worker carry the Redis Cluster hash tag `{ns/w}` (literal braces,
/// e.g. `demo:{demo/0}:meta`), so that one worker's commit — its log chunk, meta and
/// sketch in one MULTI/EXEC — touches one hash slot. Every other write touches one key.
/// A single job is worker 0. Version 1 named them `{ns}:meta`, `{ns}:log`, `{ns}:admission`.
public struct KeySchema: Sendable, Hashable {
    public static let version = 2
    public let namespace: String

    /// Namespaces are 1–64 characters of `A–Z a–z 0–9 _ . -`, so they never need
    /// escaping in keys or in `SCAN MATCH` patterns.
    public init(namespace: String) throws(KeySchemaError) {
        guard !namespace.isEmpty, namespace.utf8.count <= 64,
              namespace.utf8.allSatisfy({ b in
                  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                      || b == 0x5F || b == 0x2E || b == 0x2D
              })
        else { throw KeySchemaError(namespace: namespace) }
        self.namespace = namespace
    }

    /// The hash tag shared by worker `worker`'s state keys: `{ns/w}`.
    public func stateTag(worker: Int) -> String { "{\(namespace)/\(worker)}" }
    /// Worker `worker`'s meta hash (schema version, parameters, progress).
    public func meta(worker: Int) -> String { "\(namespace):\(stateTag(worker: worker)):meta" }
    /// Worker `worker`'s event log (internal).
    public func log(worker: Int) -> String { "\(namespace):\(stateTag(worker: worker)):log" }
    /// The frequency-admission sketch of worker `worker`, committed with its log (internal).
    public func admissionSketch(worker: Int) -> String { "\(namespace):\(stateTag(worker: worker)):admission" }
    /// Worker `worker`'s writer lease (see docs/state.md, "One writer per namespace").
    public func lease(worker: Int) -> String { "\(namespace):\(stateTag(worker: worker)):lease" }
    /// Chunk `chunk` of worker `worker`'s snapshot `id` (internal). Each chunk has its own
    /// hash tag, so the chunks of a large snapshot spread over a Redis Cluster's masters.
    public func snapshotChunk(worker: Int, id: Int, chunk: Int) -> String {
        "\(namespace):{\(namespace)/\(worker)/\(id)/\(chunk)}:snapshot"
    }
    /// A `SCAN MATCH` pattern for every worker's lease.
    public var leasePattern: String { "\(namespace):{\(namespace)/*}:lease" }
    /// A `SCAN MATCH` pattern for every worker's meta.
    public var metaPattern: String { "\(namespace):{\(namespace)/*}:meta" }
    /// Where key schema version 1 kept the meta hash: a namespace holding it needs a reset.
    public var versionOneMeta: String { "\(namespace):meta" }
    public var itemAuthors: String { "\(namespace):items:author" }
    public func index(_ algorithm: Algorithm) -> String { index(.algorithm(algorithm)) }
    public func index(_ family: ListFamily) -> String { "\(namespace):index:\(family.name)" }
    public var itemStatus: String { "\(namespace):items:status" }
    public var itemExpires: String { "\(namespace):items:expires" }
    public var itemRevision: String { "\(namespace):items:rev" }
    /// The `popular` list (u2i2i's fallback; `all` is the one segment written).
    public var popularList: String { list(.popular, id: ListFamily.popularId) }
    /// A user's u2i seeds (input written by an upstream model or `onlinecf u2i load`).
    public func u2iSeeds(user: String) -> String { "\(namespace):u2i:\(user)" }

    /// The prefix of every list key of an algorithm, ending in `:`.
    public func listPrefix(_ algorithm: Algorithm) -> String {
        switch algorithm.kind {
        case .i2i: return "\(namespace):i2i:\(algorithm.rawValue):"
        case .u2u, .a2a: return "\(namespace):\(algorithm.rawValue):"
        }
    }

    /// The prefix of every list key of a family, ending in `:`.
    public func listPrefix(_ family: ListFamily) -> String {
        switch family {
        case .algorithm(let a): return listPrefix(a)
        case .recent, .u2i2i, .popular: return "\(namespace):\(family.name):"
        }
    }

    public func list(_ algorithm: Algorithm, id: String) -> String { listPrefix(algorithm) + id }
    public func list(_ family: ListFamily, id: String) -> String { listPrefix(family) + id }

    /// A `SCAN MATCH` pattern for every key of the namespace.
    public var allKeysPattern: String { "\(namespace):*" }
}

public struct KeySchemaError: Error, Sendable, CustomStringConvertible {
    public var namespace: String
    public var description: String {
        "invalid namespace '\(namespace)': use 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-'"
    }
}
