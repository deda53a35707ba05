import Testing
@testable import OnlineCFKV

@Suite struct RedisEndpointTests {
    let noEnvironment: [String: String] = [:]

    @Test func plainHostDefaultsPortAndDatabase() throws {
        let e = try RedisEndpoint(url: "redis://127.0.0.1", environment: noEnvironment)
        #expect(e.address == .tcp(host: "127.0.0.1", port: 6379))
        #expect(e.database == 0 && e.user == nil && e.password == nil)
        #expect(e.displayName == "127.0.0.1:6379")
    }

    @Test func hostPortDatabase() throws {
        let e = try RedisEndpoint(url: "redis://cache.local:6380/3", environment: noEnvironment)
        #expect(e.address == .tcp(host: "cache.local", port: 6380))
        #expect(e.database == 3)
        #expect(e.displayName == "cache.local:6380/3")
        #expect(try RedisEndpoint(url: "redis://h:1/", environment: noEnvironment).database == 0)
    }

    @Test func passwordOnlyAndUserPassword() throws {
        let p = try RedisEndpoint(url: "redis://:s3cret@localhost:7000", environment: noEnvironment)
        #expect(p.user == nil && p.password == "s3cret")
        let up = try RedisEndpoint(url: "redis://alice:pw@localhost", environment: noEnvironment)
        #expect(up.user == "alice" && up.password == "pw")
        let u = try RedisEndpoint(url: "redis://alice@localhost", environment: noEnvironment)
        #expect(u.user == "alice" && u.password == nil)
    }

    @Test func percentDecodingOfCredentials() throws {
        let e = try RedisEndpoint(url: "redis://al%40ice:p%3Aw%2Fx%25@localhost:6379/1", environment: noEnvironment)
        #expect(e.user == "al@ice")
        #expect(e.password == "p:w/x%")
        #expect(e.database == 1)
    }

    @Test func passwordContainingAtSignUnencoded() throws {
        let e = try RedisEndpoint(url: "redis://:p@ss@localhost", environment: noEnvironment)
        #expect(e.password == "p@ss")
        #expect(e.address == .tcp(host: "localhost", port: 6379))
    }

    @Test func ipv6Host() throws {
        let e = try RedisEndpoint(url: "redis://[::1]:6390", environment: noEnvironment)
        #expect(e.address == .tcp(host: "::1", port: 6390))
        #expect(e.displayName == "[::1]:6390")
    }

    @Test func unixSocketForms() throws {
        let a = try RedisEndpoint(url: "unix:///tmp/x/redis.sock", environment: noEnvironment)
        #expect(a.address == .unix(path: "/tmp/x/redis.sock"))
        #expect(a.displayName == "unix:/tmp/x/redis.sock")
        let b = try RedisEndpoint(url: "unix:///tmp/r.sock?db=5", environment: noEnvironment)
        #expect(b.address == .unix(path: "/tmp/r.sock") && b.database == 5)
        let c = try RedisEndpoint(url: "unix:/tmp/r.sock", environment: noEnvironment)
        #expect(c.address == .unix(path: "/tmp/r.sock"))
        let d = try RedisEndpoint(url: "unix://:pw@/tmp/r.sock", environment: noEnvironment)
        #expect(d.password == "pw" && d.address == .unix(path: "/tmp/r.sock"))
    }

    @Test func environmentPasswordAndUser() throws {
        let env = ["ONLINECF_REDIS_PASSWORD": "fromenv", "ONLINECF_REDIS_USER": "bob"]
        let e = try RedisEndpoint(url: "redis://localhost", environment: env)
        #expect(e.password == "fromenv" && e.user == "bob")
        // A password in the URL wins over the environment.
        let u = try RedisEndpoint(url: "redis://:inurl@localhost", environment: env)
        #expect(u.password == "inurl" && u.user == nil)
        let s = try RedisEndpoint(url: "unix:///tmp/s.sock", environment: ["ONLINECF_REDIS_PASSWORD": "x"])
        #expect(s.password == "x" && s.user == nil)
        let empty = try RedisEndpoint(url: "redis://localhost", environment: ["ONLINECF_REDIS_PASSWORD": ""])
        #expect(empty.password == nil)
    }

    @Test func displayNameAndDescriptionHidePassword() throws {
        let e = try RedisEndpoint(url: "redis://alice:topsecret@localhost:6379/2", environment: noEnvironment)
        #expect(!e.displayName.contains("topsecret"))
        #expect(!"\(e)".contains("topsecret"))
        #expect(!String(reflecting: e).contains("topsecret"))
        var dumped = ""
        dump(e, to: &dumped)
        #expect(!dumped.contains("topsecret"))
    }

    @Test(arguments: [
        "localhost:6379", "http://localhost", "redis://", "redis://host:0", "redis://host:99999",
        "redis://host:abc", "redis://host/-1", "redis://host/x", "redis://host?db=1",
        "unix://relative.sock", "unix:///tmp/s.sock?password=x", "unix:///tmp/s.sock?db=x",
        "rediss://host", "redis://[::1", "",
    ])
    func badURLsAreRejectedWithAcceptedForms(url: String) {
        #expect {
            _ = try RedisEndpoint(url: url, environment: [:])
        } throws: { error in
            guard let e = error as? KVError else { return false }
            return e.code == .invalidURL && e.message.contains(RedisEndpoint.acceptedForms)
        }
    }

    @Test func badURLErrorNeverEchoesPassword() {
        do {
            _ = try RedisEndpoint(url: "redis://u:hunter2@host:notaport", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }
}
