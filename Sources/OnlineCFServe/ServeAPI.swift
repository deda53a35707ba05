import Foundation
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime

/// The endpoints, as the metrics label them.
public enum ServeEndpoint: String, Sendable, CaseIterable {
    case i2i, u2u, a2a, u2i2i, healthz, metrics, other
}

/// An HTTP answer before it meets Hummingbird: status, content type and body bytes.
public struct ServeReply: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// `Allow` (with 405) and `Retry-After` (with 503 busy).
    public var allow: String? = nil
    public var retryAfter: String? = nil

    static func json(_ status: Int, _ body: [UInt8]) -> ServeReply {
        ServeReply(status: status, contentType: "application/json", body: body)
    }
    static func error(_ status: Int, _ message: String) -> ServeReply { json(status, JSONText.error(message)) }
}

/// The HTTP API of `onlinecf serve`, apart from the HTTP server: parses a request target,
/// reads the KV store through the pool and renders JSON. (docs/http-api.md.)
///
/// Guarantees:
/// - i2i answers never hold an item blocked at the moment of the request (status
///   hidden/deleted or expired by the wall clock), and a blocked item's own list is
///   empty; u2i2i answers get the same filter from ``KVRecall``.
/// - A missing list is answered like an empty one: 200 with an empty array.
/// - Parameters are checked before the store is touched: unknown paths and algorithms
///   are 404, malformed or out-of-range parameters 400, ids over 512 bytes 414.
public struct ServeAPI: Sendable {
    /// The u2i2i blend when a request names none (`serve --algo`).
    public var defaultBlend: RecallBlend
    public var pool: KVPool
    /// PINGs the store for /healthz (its own connection, short timeouts).
    public var health: @Sendable () async -> Bool
    /// The metrics text for /metrics.
    public var metricsText: @Sendable () async -> [UInt8]
    /// The current time in Unix milliseconds (for blocked items).
    public var nowMillis: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    public static let maxIdBytes = 512
    public static let maxTargetBytes = 8192
    public static let countRange = 1...10_000

    public init(defaultBlend: RecallBlend, pool: KVPool, health: @escaping @Sendable () async -> Bool,
                metricsText: @escaping @Sendable () async -> [UInt8]) {
        self.defaultBlend = defaultBlend
        self.pool = pool
        self.health = health
        self.metricsText = metricsText
    }

    static let i2iAlgorithms = Algorithm.allCases.filter { $0.kind == .i2i }
    static var knownI2I: String { i2iAlgorithms.map(\.rawValue).joined(separator: ", ") }

    /// Answers a GET of `target` (path and query as sent, percent-encoded), or a POST of it
    /// with `body` (only `/v1/u2i2i/{user}` takes one: ``RecallBody``).
    public func respond(target: String, body: [UInt8]? = nil) async -> (ServeEndpoint, ServeReply) {
        guard target.utf8.count <= Self.maxTargetBytes else {
            return (.other, .error(414, "request target longer than \(Self.maxTargetBytes) bytes"))
        }
        let rawPath: Substring, rawQuery: Substring
        if let q = target.firstIndex(of: "?") {
            rawPath = target[..<q]; rawQuery = target[target.index(after: q)...]
        } else {
            rawPath = target[...]; rawQuery = ""
        }
        let rawSegments = rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var segments: [String] = []
        for raw in rawSegments {
            guard let s = Self.percentDecode(raw, plusIsSpace: false) else {
                return (.other, .error(400, "the path is not valid percent-encoded UTF-8"))
            }
            segments.append(s)
        }
        let query: Query
        do { query = try Query(parsing: rawQuery) } catch { return (.other, .error(400, error.message)) }

        switch segments.first {
        case "healthz" where segments.count == 1:
            return (.healthz, await health()
                ? ServeReply(status: 200, contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8))
                : ServeReply(status: 503, contentType: "text/plain; charset=utf-8", body: Array("KV store unreachable\n".utf8)))
        case "metrics" where segments.count == 1:
            return (.metrics, ServeReply(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: await metricsText()))
        case "v1" where segments.count >= 2:
            break
        default:
            return (.other, notFound())
        }
        do {
            switch (segments[1], segments.count) {
            case ("i2i", 4):
                return (.i2i, try await i2i(algorithm: segments[2], item: segments[3], query: query))
            case ("u2u", 3):
                return (.u2u, try await plainList(.u2uCosine, field: "user", id: segments[2], query: query))
            case ("a2a", 3):
                return (.a2a, try await plainList(.a2aCosine, field: "author", id: segments[2], query: query))
            case ("u2i2i", 3):
                return (.u2i2i, try await u2i2i(user: segments[2], query: query, body: body))
            case _ where body != nil:
                return (.other, ServeReply(status: 405, contentType: "application/json", body: JSONText.error("only /v1/u2i2i/{user} takes a POST"), allow: "GET"))
            default:
                return (.other, notFound())
            }
        } catch let error as APIError {
            let endpoint = ServeEndpoint(rawValue: segments[1]) ?? .other
            return (endpoint, .error(error.status, error.message))
        } catch {
            let endpoint = ServeEndpoint(rawValue: segments[1]) ?? .other
            return (endpoint, Self.storeFailure(error))
        }
    }

    func notFound() -> ServeReply {
        .error(404, "no such endpoint; use GET /v1/i2i/{algo}/{item}, /v1/u2u/{user}, /v1/a2a/{author}, /v1/u2i2i/{user}, /healthz or /metrics")
    }

    static func storeFailure(_ error: any Error) -> ServeReply {
        if error is KVPool.PoolError {
            var reply = ServeReply.error(503, "server busy: every KV connection is in use and the wait queue is full; retry")
            reply.retryAfter = "1"
            return reply
        }
        if let kv = error as? KVError, kv.isConnectionProblem { return .error(503, "KV store unavailable: \(kv)") }
        return .error(500, "KV store error: \(error)")
    }

    // MARK: endpoints

    func i2i(algorithm name: String, item: String, query: Query) async throws -> ServeReply {
        guard let algorithm = Algorithm(rawValue: name), algorithm.kind == .i2i else {
            throw APIError(404, "unknown i2i algorithm '\(name)'; known: \(Self.knownI2I)")
        }
        try Self.checkId(item, what: "item")
        try query.allow(["k"])
        let k = try query.int("k", in: Self.countRange) ?? 50
        let now = nowMillis()
        let list = try await pool.withStore { store -> [(String, Double)] in
            let whole = try store.readLists(algorithm, ids: [item])[0]
            let blocked = try store.blockedAmong([item] + whole.map(\.0), nowMillis: now)
            if blocked.contains(item) { return [] }
            return Array(whole.lazy.filter { !blocked.contains($0.0) }.prefix(k))
        }
        return .json(200, Self.render(list: list, head: [("algo", algorithm.rawValue), ("item", item)]))
    }

    func plainList(_ algorithm: Algorithm, field: String, id: String, query: Query) async throws -> ServeReply {
        try Self.checkId(id, what: field)
        try query.allow(["k"])
        let k = try query.int("k", in: Self.countRange) ?? 50
        let list = try await pool.withStore { store in try store.readLists(algorithm, ids: [id], limit: k)[0] }
        return .json(200, Self.render(list: list, head: [(field, id)]))
    }

    func u2i2i(user: String, query: Query, body: [UInt8]? = nil) async throws -> ServeReply {
        try Self.checkId(user, what: "user")
        try query.allow(["n", "algo", "seeds", "seed_items", "seed_mode", "exclude", "max_seeds", "max_neighbours", "per_author",
                         "exclude_seen", "exclude_own", "explain", "blend_scale", "fallback"])
        var options = RecallOptions()
        options.count = try query.int("n", in: Self.countRange) ?? 50
        if let v = try query.int("max_seeds", in: 0...10_000) { options.maxSeeds = v }
        if let v = try query.int("max_neighbours", in: 0...10_000) { options.maxNeighbours = v }
        if let v = try query.int("per_author", in: 0...10_000) { options.perAuthor = v }
        if let v = try query.bool("exclude_seen") { options.excludeSeen = v }
        if let v = try query.bool("exclude_own") { options.excludeOwnItems = v }
        if let v = try query.bool("fallback") { options.fallback = v }
        if let text = query["blend_scale"] {
            guard let scale = BlendScale(rawValue: text) else { throw APIError(400, "blend_scale must be max or raw, not '\(text)'") }
            options.blendScale = scale
        }
        let explain = try query.bool("explain") ?? false
        var seeds = SeedSource.both
        if let text = query["seeds"] {
            guard let s = SeedSource(rawValue: text) else { throw APIError(400, "seeds must be u2i, recent or both, not '\(text)'") }
            seeds = s
        }
        let blend = try query["algo"].map(Self.parseBlend) ?? defaultBlend
        let request: RecallRequest
        if let body {
            if ["seed_items", "seed_mode", "exclude"].contains(where: { query[$0] != nil }) {
                throw APIError(400, "give seed_items, seed_mode and exclude in the query or in the body, not in both")
            }
            request = try Self.recallRequest(body: body)
        } else {
            request = try Self.recallRequest(query)
        }
        let now = nowMillis()
        let (chosenOptions, chosenSeeds) = (options, seeds)
        let answer = try await pool.withStore { store in
            let recall = KVRecall(store: store, blend: blend, options: chosenOptions, seeds: chosenSeeds)
            recall.nowMillis = { now }
            return try recall.recommend(user: user, explain: explain, request: request)
        }
        var j = JSONText(capacity: 64 + answer.entries.count * (explain ? 160 : 48))
        j.raw("{"); j.key("user"); j.string(user)
        j.raw(","); j.key("seeds"); j.number(answer.seeds)
        j.raw(","); j.key("items"); j.raw("[")
        for (n, e) in answer.entries.enumerated() {
            if n > 0 { j.raw(",") }
            j.raw("{"); j.key("item"); j.string(e.item); j.raw(","); j.key("score"); j.number(e.score)
            if e.fallback { j.raw(","); j.key("fallback"); j.raw("true") }
            if explain {
                j.raw(","); j.key("contributions"); j.raw("[")
                for (m, c) in e.contributions.enumerated() {
                    if m > 0 { j.raw(",") }
                    j.raw("{"); j.key("seed"); j.string(c.seed)
                    j.raw(","); j.key("algo"); j.string(c.algorithm)
                    j.raw(","); j.key("seed_weight"); j.number(c.seedWeight)
                    j.raw(","); j.key("similarity"); j.number(c.similarity)
                    j.raw(","); j.key("scaled_similarity"); j.number(c.scaledSimilarity)
                    j.raw(","); j.key("amount"); j.number(c.amount)
                    j.raw("}")
                }
                j.raw("]")
            }
            j.raw("}")
        }
        j.raw("]}")
        return .json(200, j.bytes)
    }

    /// A POST body's seeds and exclusions (``RecallBody``): at most ``maxBodyItems`` of each
    /// (more is 413); ids checked as a path id is; a weight must be a number > 0 (400).
    static func recallRequest(body: [UInt8]) throws -> RecallRequest {
        let decoded: RecallBody
        do { decoded = try JSONDecoder().decode(RecallBody.self, from: Data(body)) } catch {
            throw APIError(400, #"the body is not JSON of the form {"seed_items":[{"item":"i1","weight":2},…],"seed_mode":"join","exclude":["i9",…]}"#)
        }
        let seeds = decoded.seed_items ?? [], exclude = decoded.exclude ?? []
        guard seeds.count <= maxBodyItems else { throw APIError(413, "\(seeds.count) seed items; at most \(maxBodyItems)") }
        guard exclude.count <= maxBodyItems else { throw APIError(413, "\(exclude.count) excluded items; at most \(maxBodyItems)") }
        var request = RecallRequest()
        for seed in seeds {
            try checkId(seed.item, what: "seed item")
            let weight = seed.weight ?? 1
            guard weight.isFinite, weight > 0 else { throw APIError(400, "the weight of seed '\(seed.item)' must be a number > 0") }
            request.seeds.append(RecallSeedName(item: seed.item, weight: weight))
        }
        for item in exclude { try checkId(item, what: "excluded item") }
        request.exclude = Set(exclude)
        request.replacesStoredSeeds = try replacesStoredSeeds(decoded.seed_mode)
        return request
    }

    /// `seed_mode`: `join` (default) or `replace`.
    static func replacesStoredSeeds(_ mode: String?) throws -> Bool {
        switch mode {
        case nil, "join": return false
        case "replace": return true
        case let other?: throw APIError(400, "seed_mode must be join or replace, not '\(other)'")
        }
    }

    /// Seeds and exclusions a POST body may carry, each.
    public static let maxBodyItems = 10_000

    /// Request-time seeds (`seed_items=ITEM[:WEIGHT],…`, joining the stored ones or, with
    /// `seed_mode=replace`, replacing them) and exclusions (`exclude=ITEM,…`); every id is
    /// checked as a path id is.
    static func recallRequest(_ query: Query) throws -> RecallRequest {
        var request = RecallRequest()
        do {
            if let text = query["seed_items"] { request.seeds = try RecallRequest.parseSeeds(text) }
            if let text = query["exclude"] { request.exclude = try RecallRequest.parseExclude(text) }
        } catch {
            throw APIError(400, "\(error.message)")
        }
        for seed in request.seeds { try checkId(seed.item, what: "seed item") }
        for item in request.exclude { try checkId(item, what: "excluded item") }
        request.replacesStoredSeeds = try replacesStoredSeeds(query["seed_mode"])
        return request
    }

    /// `ALGO[:WEIGHT],…`: an unknown algorithm is 404 (as in the path), a bad weight or a
    /// repeated algorithm 400.
    static func parseBlend(_ text: String) throws -> RecallBlend {
        for part in text.split(separator: ",") {
            var name = part.trimmingCharacters(in: .whitespaces)
            if let colon = name.lastIndex(of: ":"), Double(name[name.index(after: colon)...]) != nil { name = String(name[..<colon]) }
            guard let a = Algorithm(rawValue: name), a.kind == .i2i else {
                throw APIError(404, "unknown i2i algorithm '\(name)' in algo; known: \(knownI2I) (blend them as ALGO:WEIGHT,…)")
            }
        }
        do { return try RecallBlend(parsing: text) } catch { throw APIError(400, "algo: \(error.message)") }
    }

    static func checkId(_ id: String, what: String) throws {
        if id.isEmpty { throw APIError(400, "empty \(what) id") }
        if id.utf8.count > maxIdBytes { throw APIError(414, "\(what) id longer than \(maxIdBytes) bytes") }
    }

    static func render(list: [(String, Double)], head: [(String, String)]) -> [UInt8] {
        var j = JSONText(capacity: 64 + list.count * 40)
        j.raw("{")
        for (key, value) in head { j.key(key); j.string(value); j.raw(",") }
        j.key("neighbours"); j.raw("[")
        for (n, (id, score)) in list.enumerated() {
            if n > 0 { j.raw(",") }
            j.raw("{"); j.key(head.count == 2 ? "item" : head[0].0); j.string(id)
            j.raw(","); j.key("score"); j.number(score); j.raw("}")
        }
        j.raw("]}")
        return j.bytes
    }

    // MARK: parsing

    /// `%XX` decoding of a path segment or query part (`+` as space in queries); nil when
    /// an escape is malformed or the bytes are not UTF-8.
    static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String? {
        let utf8 = Array(text.utf8)
        if !utf8.contains(0x25) && !(plusIsSpace && utf8.contains(0x2B)) { return String(text) }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: return b - 0x30
            case 0x41...0x46: return b - 0x41 + 10
            case 0x61...0x66: return b - 0x61 + 10
            default: return nil
            }
        }
        while i < utf8.count {
            let b = utf8[i]
            if b == 0x25 {
                guard i + 2 < utf8.count, let h = hex(utf8[i + 1]), let l = hex(utf8[i + 2]) else { return nil }
                out.append(h << 4 | l); i += 3
            } else {
                out.append(plusIsSpace && b == 0x2B ? 0x20 : b); i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The query string: `name=value` pairs, percent-decoded; a repeated name keeps the last value.
    struct Query: Sendable {
        var values: [String: String] = [:]

        init(parsing raw: Substring) throws(APIError) {
            for pair in raw.split(separator: "&") {
                let eq = pair.firstIndex(of: "=")
                let rawName = eq.map { pair[..<$0] } ?? pair
                let rawValue = eq.map { pair[pair.index(after: $0)...] } ?? ""
                guard let name = ServeAPI.percentDecode(rawName, plusIsSpace: true),
                      let value = ServeAPI.percentDecode(rawValue, plusIsSpace: true) else {
                    throw APIError(400, "the query string is not valid percent-encoded UTF-8")
                }
                values[name] = value
            }
        }

        subscript(name: String) -> String? { values[name] }

        func allow(_ names: Set<String>) throws(APIError) {
            if let bad = values.keys.sorted().first(where: { !names.contains($0) }) {
                throw APIError(400, "unknown parameter '\(bad)'; this endpoint takes \(names.sorted().joined(separator: ", "))")
            }
        }

        func int(_ name: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
            guard let text = values[name] else { return nil }
            guard let v = Int(text), range.contains(v) else {
                throw APIError(400, "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            }
            return v
        }

        func bool(_ name: String) throws(APIError) -> Bool? {
            guard let text = values[name] else { return nil }
            switch text {
            case "true": return true
            case "false": return false
            default: throw APIError(400, "\(name) must be true or false, not '\(text)'")
            }
        }
    }
}

/// A client error with its status.
struct APIError: Error, Sendable {
    var status: Int
    var message: String
    init(_ status: Int, _ message: String) { self.status = status; self.message = message }
}

/// The JSON body of `POST /v1/u2i2i/{user}`: request-time seeds and exclusions too many
/// for a query (see docs/http-api.md). Every field is optional; a seed's weight is 1 when
/// absent.
struct RecallBody: Decodable {
    struct Seed: Decodable {
        var item: String
        var weight: Double?
    }
    var seed_items: [Seed]?
    var seed_mode: String?
    var exclude: [String]?
}
