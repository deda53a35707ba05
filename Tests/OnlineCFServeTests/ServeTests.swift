import Foundation
import Testing
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFTestSupport

/// `onlinecf serve` as a client sees it: the built CLI fills a namespace in a real
/// redis-server, `onlinecf serve --listen 127.0.0.1:0` runs as a subprocess, and every
/// check goes over real HTTP (a raw-socket HTTP/1.1 client, no client library).
@Suite(.serialized) struct ServeTests {
    static let namespace = "srv"

    /// Users × items (× author): item "i1" co-occurs with i2, iH (to be hidden), iX (to
    /// expire), i3 and "i 7/x" (an id that needs percent-encoding in a path).
    static let input = """
    user\titem\tauthor
    u1\ti1\ta1
    u1\ti2\ta1
    u1\tiH\ta2
    u1\tiX\ta3
    u2\ti1\ta1
    u2\ti2\ta1
    u2\tiH\ta2
    u3\ti1\ta1
    u3\tiX\ta3
    u3\ti3\ta2
    u4\ti2\ta1
    u4\ti3\ta2
    u4\tiH\ta2
    u5\ti1\ta1
    u5\ti3\ta2
    u6\ti1\ta1
    u6\ti 7/x\ta4

    """

    /// A redis-server holding the namespace (lists, u2i seeds, one hidden and one expired
    /// item) and a running `onlinecf serve` over it.
    final class Fixture {
        let redis: TestRedis
        let client: RedisClient
        let store: StateStore
        let server: ServeProcess

        init(sourceLocation: SourceLocation = #_sourceLocation) throws {
            redis = try TestRedis()
            let batch = try OnlineCFBinary.run(["batch", "--redis", redis.url, "--namespace", ServeTests.namespace, "--format", "tsv",
                                                "--columns", "user,item,author", "--algos", "all", "--swing-min-user-behavior", "1", "-"], stdin: Array(ServeTests.input.utf8))
            try #require(batch.status == 0, "batch failed: \(batch.stderr)", sourceLocation: sourceLocation)
            client = RedisClient(endpoint: try RedisEndpoint(url: redis.url), retry: .never)
            store = StateStore(client: client, keys: try KeySchema(namespace: ServeTests.namespace))
            let ns = ServeTests.namespace
            // u2i seeds of a user with no events, and of u1 (whose own items are "seen").
            try client.execute(RedisCommand("ZADD", "\(ns):u2i:seedy", "2", "i1", "1", "i3"))
            try client.execute(RedisCommand("ZADD", "\(ns):u2i:u1", "1", "i1"))
            // The lists were written before the moderation: they still hold iH and iX.
            let before = try store.readLists(.itemcfCosine, ids: ["i1"])[0].map(\.0)
            try #require(before.contains("iH") && before.contains("iX"), "fixture: i1's list is \(before)", sourceLocation: sourceLocation)
            try client.execute(RedisCommand("HSET", "\(ns):items:status", "iH", "hidden"))
            try client.execute(RedisCommand("HSET", "\(ns):items:expires", "iX", String(Int64(Date().timeIntervalSince1970 * 1000) - 60_000)))
            try client.execute(RedisCommand("INCR", "\(ns):items:rev"))
            server = try ServeProcess(["--redis", redis.url, "--namespace", ns, "--listen", "127.0.0.1:0", "--connections", "3"])
        }

        func get(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPReply {
            try HTTPReply.request(port: server.port, "GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", sourceLocation: sourceLocation)
        }

        func json<T: Decodable>(_ path: String, as type: T.Type = ListJSON.self, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
            let reply = try get(path, sourceLocation: sourceLocation)
            #expect(reply.status == 200, "\(path): \(reply.status) \(reply.text)", sourceLocation: sourceLocation)
            #expect(reply.headers["content-type"] == "application/json", sourceLocation: sourceLocation)
            return try JSONDecoder().decode(T.self, from: Data(reply.body))
        }
    }

    /// Answers decoded with JSONDecoder, which parses doubles exactly (Foundation's
    /// JSONSerialization on Linux may be an ulp off).
    struct ListJSON: Decodable {
        struct Neighbour: Decodable { var item: String?; var user: String?; var author: String?; var score: Double }
        var algo: String?; var item: String?; var user: String?; var author: String?
        var neighbours: [Neighbour]
        var pairs: [(String, Double)] { neighbours.map { ($0.item ?? $0.user ?? $0.author ?? "?", $0.score) } }
    }

    struct RecallJSON: Decodable {
        struct Entry: Decodable {
            struct Contribution: Decodable { var seed: String; var algo: String; var seed_weight: Double; var similarity: Double; var amount: Double }
            var item: String; var score: Double; var contributions: [Contribution]?; var fallback: Bool?
        }
        var user: String; var seeds: Int; var items: [Entry]
        var pairs: [(String, Double)] { items.map { ($0.item, $0.score) } }
    }

    /// i2i, u2u and a2a answers equal the stored lists, less the items blocked now; ids and
    /// algorithm names work raw or percent-encoded.
    @Test func listsOverHTTP() throws {
        let f = try Fixture()
        for algorithm in Algorithm.allCases where algorithm.kind == .i2i {
            let stored = try f.store.readLists(algorithm, ids: ["i1"])[0].filter { $0.0 != "iH" && $0.0 != "iX" }
            let object = try f.json("/v1/i2i/\(algorithm.rawValue)/i1?k=100")
            #expect(object.algo == algorithm.rawValue)
            #expect(object.item == "i1")
            let got = object.pairs
            #expect(got.map(\.0) == stored.map(\.0), "\(algorithm)")
            #expect(got.map(\.1) == stored.map(\.1), "\(algorithm)")
            #expect(!got.isEmpty, "\(algorithm): i1 has neighbours")
        }
        // Percent-encoded algorithm and k.
        let cosine = try f.json("/v1/i2i/itemcf:cosine/i1")
        let encoded = try f.json("/v1/i2i/itemcf%3Acosine/i1")
        #expect(cosine.pairs.map(\.0) == encoded.pairs.map(\.0))
        #expect(try f.json("/v1/i2i/itemcf:cosine/i1?k=1").pairs.count == 1)
        // Blocked items: their own list is empty (200, not 404), and they appear in no list.
        #expect(try f.store.readLists(.itemcfCosine, ids: ["iH"])[0].count > 0)
        #expect(try f.json("/v1/i2i/itemcf:cosine/iH").pairs.isEmpty)
        #expect(try f.json("/v1/i2i/swing/iX").pairs.isEmpty)
        for item in ["i1", "i2", "i3"] {
            let ids = try f.json("/v1/i2i/itemcf:cooccurrence/\(item)").pairs.map(\.0)
            #expect(!ids.contains("iH") && !ids.contains("iX"), "\(item): \(ids)")
        }
        // An id with a space and a slash, percent-encoded in the path.
        let odd = try f.json("/v1/i2i/itemcf:cosine/i%207%2Fx")
        #expect(odd.item == "i 7/x")
        #expect(odd.pairs.map(\.0) == ["i1"])
        // An unknown item: 200 with an empty list.
        #expect(try f.json("/v1/i2i/itemcf:cosine/nothing").pairs.isEmpty)
        // u2u and a2a.
        let u2u = try f.json("/v1/u2u/u1?k=3")
        #expect(u2u.user == "u1" && u2u.neighbours.allSatisfy { $0.user != nil && $0.item == nil })
        let storedU = try f.store.readLists(.u2uCosine, ids: ["u1"], limit: 3)[0]
        #expect(u2u.pairs.map(\.0) == storedU.map(\.0))
        #expect(u2u.pairs.map(\.1) == storedU.map(\.1))
        let a2a = try f.json("/v1/a2a/a1")
        #expect(a2a.author == "a1")
        let storedA = try f.store.readLists(.a2aCosine, ids: ["a1"])[0]
        #expect(!storedA.isEmpty)
        #expect(a2a.pairs.map(\.0) == storedA.map(\.0))
        #expect(a2a.pairs.map(\.1) == storedA.map(\.1))
        try f.server.stop()
    }

    /// u2i2i over HTTP equals KVRecall called in process (items and scores), never holds a
    /// blocked item, and explains itself on request.
    @Test func u2i2iMatchesKVRecall() throws {
        let f = try Fixture()
        for (query, blend, seeds, configure) in [
            ("", "itemcf:cosine", SeedSource.both, { (_: inout RecallOptions) in }),
            ("?algo=swing:0.6,itemcf:jaccard:0.4&n=3", "swing:0.6,itemcf:jaccard:0.4", .both, { (o: inout RecallOptions) in o.count = 3 }),
            ("?algo=itemcf%3Acooccurrence&seeds=u2i&exclude_seen=false&per_author=1", "itemcf:cooccurrence", .u2i,
             { (o: inout RecallOptions) in o.excludeSeen = false; o.perAuthor = 1 }),
        ] {
            for user in ["seedy", "u1", "nobody"] {
                var options = RecallOptions()
                configure(&options)
                let direct = try KVRecall(store: f.store, blend: RecallBlend(parsing: blend), options: options, seeds: seeds).recommend(user: user)
                let object = try f.json("/v1/u2i2i/\(user)\(query)", as: RecallJSON.self)
                #expect(object.user == user)
                #expect(object.seeds == direct.seeds, "\(user)\(query)")
                let got = object.pairs
                #expect(got.map(\.0) == direct.entries.map(\.item), "\(user)\(query)")
                #expect(got.map(\.1) == direct.entries.map(\.score), "\(user)\(query)")
                #expect(!got.contains { $0.0 == "iH" || $0.0 == "iX" })
                if user == "seedy" && query.isEmpty { #expect(!got.isEmpty) }
                if user == "nobody" { #expect(direct.seeds == 0 && direct.entries.allSatisfy(\.fallback) && object.items.allSatisfy { $0.fallback == true }) }
            }
        }
        // explain=true adds contributions whose amounts add up to the score.
        let explained = try f.json("/v1/u2i2i/seedy?explain=true", as: RecallJSON.self)
        #expect(!explained.items.isEmpty)
        for entry in explained.items {
            let contributions = try #require(entry.contributions)
            #expect(!contributions.isEmpty)
            for c in contributions {
                #expect(["i1", "i3"].contains(c.seed))
                #expect(c.algo == "itemcf:cosine")
                #expect(c.seed_weight > 0 && c.similarity > 0)
            }
            #expect(abs(contributions.map(\.amount).reduce(0, +) - entry.score) < 1e-12)
        }
        #expect(try f.json("/v1/u2i2i/seedy", as: RecallJSON.self).items.allSatisfy { $0.contributions == nil })
        try f.server.stop()
    }

    /// Request-time seeds and exclusions: a user the store has never seen, given seedy's
    /// stored seeds in the request, gets seedy's list; excluded items never appear; with
    /// `seed_mode=replace` only the request's seeds count (the stored ones stay seen); bad
    /// seeds and modes are 400.
    @Test func requestSeedsAndExclusions() throws {
        let f = try Fixture()
        let stored = try f.json("/v1/u2i2i/seedy", as: RecallJSON.self)
        #expect(stored.seeds == 2 && stored.items.count >= 2)
        let guest = try f.json("/v1/u2i2i/guest?seed_items=i1:2,i3", as: RecallJSON.self)
        #expect(guest.seeds == 2)
        #expect(guest.pairs.map(\.0) == stored.pairs.map(\.0))
        #expect(guest.pairs.map(\.1) == stored.pairs.map(\.1))
        let first = stored.pairs[0].0
        let excluded = try f.json("/v1/u2i2i/guest?seed_items=i1:2,i3&exclude=\(first),nothing", as: RecallJSON.self)
        #expect(!excluded.pairs.contains { $0.0 == first })
        let rest = stored.pairs.map(\.0).filter { $0 != first }
        #expect(Array(excluded.pairs.map(\.0).prefix(rest.count)) == rest)
        let joined = try f.json("/v1/u2i2i/seedy?seed_items=i2", as: RecallJSON.self)
        #expect(joined.seeds == 3)
        let replaced = try f.json("/v1/u2i2i/seedy?seed_items=i2&seed_mode=replace", as: RecallJSON.self)
        let alone = try f.json("/v1/u2i2i/guest?seed_items=i2&exclude=i1,i3", as: RecallJSON.self)
        #expect(replaced.seeds == 1)
        #expect(replaced.pairs.map(\.0) == alone.pairs.map(\.0))
        #expect(replaced.pairs.map(\.1) == alone.pairs.map(\.1))
        let many = (0...RecallRequest.maxItems).map { "i\($0)" }.joined(separator: ",")
        for query in ["seed_items=i1:0", "seed_items=i1:-2", "seed_items=:3", "seed_mode=both", "seed_items=\(many)", "exclude=\(many)"] {
            let reply = try f.get("/v1/u2i2i/guest?\(query)")
            #expect(reply.status == 400, "\(query.prefix(40)): \(reply.status) \(reply.text.prefix(200))")
        }
        try f.server.stop()
    }

    /// `POST /v1/u2i2i/{user}` with the seeds and exclusions in a JSON body: the same
    /// answer as the query form, up to 10,000 of each (more is 413, as is a body declared
    /// over the limit); malformed bodies and bad weights are 400.
    @Test func seedsInAPostBody() throws {
        let f = try Fixture()
        func post(_ path: String, _ body: String, length: Int? = nil) throws -> HTTPReply {
            try HTTPReply.request(port: f.server.port, "POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(length ?? body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        }
        let viaQuery = try f.json("/v1/u2i2i/guest?seed_items=i1:2,i3&exclude=i2", as: RecallJSON.self)
        let reply = try post("/v1/u2i2i/guest", #"{"seed_items":[{"item":"i1","weight":2},{"item":"i3"}],"exclude":["i2"]}"#)
        #expect(reply.status == 200, "\(reply.text)")
        let viaBody = try JSONDecoder().decode(RecallJSON.self, from: Data(reply.body))
        #expect(viaBody.seeds == 2 && !viaBody.items.isEmpty)
        #expect(viaBody.pairs.map(\.0) == viaQuery.pairs.map(\.0) && viaBody.pairs.map(\.1) == viaQuery.pairs.map(\.1))
        // 5,000 seeds: past a query's 1,000, fine in a body.
        let many = (0..<5000).map { #"{"item":"x\#($0)"}"# }.joined(separator: ",")
        #expect(try post("/v1/u2i2i/guest", #"{"seed_items":[\#(many)]}"#).status == 200)
        let tooMany = (0...10_000).map { #""x\#($0)""# }.joined(separator: ",")
        #expect(try post("/v1/u2i2i/guest", #"{"exclude":[\#(tooMany)]}"#).status == 413)
        #expect(try post("/v1/u2i2i/guest", "{}", length: 2_000_000).status == 413)
        for bad in ["nope", #"{"seed_items":[{"item":"i1","weight":0}]}"#, #"{"seed_mode":"both"}"#, #"{"seed_items":[{"item":""}]}"#] {
            let r = try post("/v1/u2i2i/guest", bad)
            #expect(r.status == 400, "\(bad): \(r.status) \(r.text)")
        }
        #expect(try post("/v1/u2i2i/guest?exclude=i1", "{}").status == 400)
        #expect(try post("/v1/i2i/swing/i1", "{}").status == 405)
        try f.server.stop()
    }

    /// Hostile requests are answered 4xx, never 5xx, and the server goes on serving:
    /// malformed percent-encoding, a 100 KB id, a 1 MB query.
    @Test func hostileRequestsGet4xx() throws {
        let f = try Fixture()
        let id = String(repeating: "x", count: 100_000)
        let query = String(repeating: "a", count: 1 << 20)
        for target in ["/v1/i2i/swing/%ZZ", "/v1/i2i/swing/%", "/v1/u2i2i/u1?exclude=%E0%A4", "/v1/u2i2i/u1?n=%FF",
                       "/v1/u2u/\(id)", "/v1/u2i2i/\(id)", "/v1/u2i2i/seedy?seed_items=\(query)", "/v1/i2i/swing/i1?\(query)"] {
            let reply = try HTTPReply.request(port: f.server.port, "GET \(target) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect((400..<500).contains(reply.status), "\(target.prefix(48))… (\(target.utf8.count) bytes): \(reply.status)")
        }
        #expect(try f.get("/healthz").status == 200)
        try f.server.stop()
    }

    /// The popular fallback: a user with no history and no request seeds gets the popular
    /// list (distinct users per item; moderated items left out), every entry marked as
    /// fallback; a short recall is padded after its own entries; `fallback=false` turns
    /// padding off.
    @Test func popularFallbackForColdUsers() throws {
        let f = try Fixture()
        let stored = try f.store.readSortedSets([f.store.keys.popularList])[0]
        #expect(stored.map(\.0) == ["i1", "i2", "i3", "iH", "iX", "i 7/x"] && stored.map(\.1) == [5, 3, 3, 3, 2, 1])
        let cold = try f.json("/v1/u2i2i/nobody?n=10", as: RecallJSON.self)
        #expect(cold.seeds == 0)
        #expect(cold.items.map(\.item) == ["i1", "i2", "i3", "i 7/x"])
        #expect(cold.items.allSatisfy { $0.fallback == true })
        #expect(try f.json("/v1/u2i2i/nobody?n=10&fallback=false", as: RecallJSON.self).items.isEmpty)
        // A guest whose one seed ("i 7/x") co-occurs with i1 only: i1, then i2 and i3 from
        // the popular list (i1 is not repeated; iH and iX are blocked).
        let own = try f.json("/v1/u2i2i/guest?n=10&fallback=false&seed_items=i%207%2Fx", as: RecallJSON.self)
        #expect(own.pairs.map(\.0) == ["i1"])
        let padded = try f.json("/v1/u2i2i/guest?n=10&explain=true&seed_items=i%207%2Fx", as: RecallJSON.self)
        #expect(padded.pairs.map(\.0) == ["i1", "i2", "i3"])
        #expect(padded.items[0].fallback == nil && padded.items[0].contributions?.isEmpty == false)
        #expect(padded.items.dropFirst().allSatisfy { $0.fallback == true && $0.contributions?.isEmpty != false })
        #expect(padded.items.dropFirst().map(\.score) == [3, 3])
        try f.server.stop()
    }

    /// 4xx answers, /healthz, /metrics, 503 when the store is gone, and SIGTERM → exit 0.
    @Test func errorsHealthMetricsAndShutdown() throws {
        let f = try Fixture()
        func expectError(_ path: String, _ status: Int, mentioning: String = "", sourceLocation: SourceLocation = #_sourceLocation) throws {
            let reply = try f.get(path, sourceLocation: sourceLocation)
            #expect(reply.status == status, "\(path): \(reply.status) \(reply.text)", sourceLocation: sourceLocation)
            #expect(reply.headers["content-type"] == "application/json", "\(path)", sourceLocation: sourceLocation)
            let object = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
            let message = object?["error"] as? String ?? ""
            #expect(!message.isEmpty && (mentioning.isEmpty || message.contains(mentioning)), "\(path): \(reply.text)", sourceLocation: sourceLocation)
        }
        try expectError("/", 404)
        try expectError("/v1/nothing/x", 404)
        try expectError("/v1/i2i/itemcf:cosine", 404)
        try expectError("/v1/i2i/itemcf:cosine/i1/extra", 404)
        try expectError("/v1/i2i/bogus/i1", 404, mentioning: "itemcf:cosine")
        try expectError("/v1/i2i/u2u:cosine/i1", 404, mentioning: "swing")
        try expectError("/v1/u2i2i/seedy?algo=bogus", 404, mentioning: "itemcf:jaccard")
        try expectError("/v1/u2i2i/seedy?algo=swing:-1", 400)
        try expectError("/v1/i2i/swing/i1?k=abc", 400, mentioning: "k")
        try expectError("/v1/i2i/swing/i1?k=0", 400)
        try expectError("/v1/i2i/swing/i1?k=10001", 400)
        try expectError("/v1/u2u/u1?k=-3", 400)
        try expectError("/v1/a2a/a1?n=3", 400, mentioning: "unknown parameter")
        try expectError("/v1/u2i2i/seedy?n=0", 400)
        try expectError("/v1/u2i2i/seedy?n=many", 400)
        try expectError("/v1/u2i2i/seedy?explain=yes", 400, mentioning: "true or false")
        try expectError("/v1/u2i2i/seedy?exclude_seen=1", 400)
        try expectError("/v1/u2i2i/seedy?seeds=all", 400, mentioning: "u2i")
        try expectError("/v1/u2i2i/seedy?max_seeds=-1", 400)
        try expectError("/v1/u2i2i/seedy?blend_scale=mean", 400, mentioning: "max or raw")
        try expectError("/v1/u2i2i/seedy?fallback=maybe", 400)
        try expectError("/v1/i2i/swing/i%ZZ", 400)
        try expectError("/v1/i2i/swing/" + String(repeating: "x", count: 513), 414)
        try expectError("/v1/u2i2i/" + String(repeating: "%C3%A9", count: 257), 414)
        // 512 bytes is fine.
        #expect(try f.get("/v1/u2u/" + String(repeating: "x", count: 512)).status == 200)
        let port = f.server.port
        let post = try HTTPReply.request(port: port, "POST /v1/u2u/u1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        #expect(post.status == 405 && post.headers["allow"] == "GET")
        let body = try HTTPReply.request(port: port, "GET /v1/u2u/u1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        #expect(body.status == 413)
        let bigHeader = try HTTPReply.request(port: port, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "y", count: 40_000))\r\nConnection: close\r\n\r\n")
        #expect(bigHeader.status == 400 || bigHeader.status == 431 || bigHeader.status == 0, "\(bigHeader.status)")
        // Keep-alive: two requests on one connection.
        let twice = try HTTPReply.raw(port: port, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(twice.components(separatedBy: "HTTP/1.1 200").count == 3, "\(twice)")
        // Health and metrics.
        let health = try f.get("/healthz")
        #expect(health.status == 200 && health.text == "ok\n")
        #expect(try f.get("/v1/u2i2i/seedy").status == 200)
        let metrics = try f.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("# TYPE onlinecf_http_requests_total counter"))
        #expect(metrics.text.contains(#"onlinecf_http_requests_total{endpoint="u2i2i",status="200"} 1"#), "\(metrics.text)")
        #expect(metrics.text.contains(#"onlinecf_http_requests_total{endpoint="i2i",status="404"} 2"#))
        #expect(metrics.text.contains(#"onlinecf_http_requests_total{endpoint="other",status="405"} 1"#))
        #expect(metrics.text.contains(#"onlinecf_http_request_duration_seconds_bucket{endpoint="u2i2i",le="+Inf"} 1"#))
        #expect(metrics.text.contains("onlinecf_http_kv_connections 3"), "\(metrics.text)")
        // The store goes away: /healthz says so, and data requests are 503.
        f.redis.server.stop(save: false)
        let down = try f.get("/healthz")
        #expect(down.status == 503)
        let failed = try f.get("/v1/u2u/u1")
        #expect(failed.status == 503, "\(failed.text)")
        // SIGTERM: a graceful stop with status 0.
        let status = try f.server.stop()
        #expect(status == 0, "serve exited \(status): \(f.server.log)")
    }
}

/// A running `onlinecf serve` subprocess and the port it printed.
final class ServeProcess {
    let process = Process()
    let errors = Pipe()
    private(set) var log = ""
    private(set) var port = 0

    init(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        process.executableURL = URL(fileURLWithPath: OnlineCFBinary.path)
        process.arguments = ["serve"] + arguments
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        while !log.contains("serving http://") || !log.hasSuffix("\n") {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
        }
        let line = try #require(log.split(separator: "\n").first { $0.hasPrefix("serving http://") }, "serve said: \(log)", sourceLocation: sourceLocation)
        port = try #require(Int(line.split(separator: ":").last ?? ""), sourceLocation: sourceLocation)
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() throws -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        log += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
}

/// One HTTP/1.1 exchange over a plain socket.
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }

    static func request(port: Int, _ request: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPReply {
        let text = try raw(port: port, request, sourceLocation: sourceLocation)
        guard let split = text.range(of: "\r\n\r\n") else { return HTTPReply(status: 0, headers: [:], body: []) }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPReply(status: status, headers: headers, body: Array(text[split.upperBound...].utf8))
    }

    /// Sends `request` and reads until the server closes the connection.
    static func raw(port: Int, _ request: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        do { return try RawHTTP.exchange(port: port, request) } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
            throw error
        }
    }
}
