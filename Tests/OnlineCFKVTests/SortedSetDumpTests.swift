import Foundation
import Testing
@testable import OnlineCFKV

@Suite struct SortedSetDumpTests {
    @Test func crc64CheckValue() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xE9C6_D914_C4B8_D9CA)
    }

    @Test func versions() {
        let redis = ServerVersion(info: "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n")
        #expect(redis?.major == 7 && redis?.minor == 0 && redis?.patch == 15 && redis?.supportsListpackDump == true)
        #expect(ServerVersion(info: "redis_version:6.2.14\r\n")?.supportsListpackDump == false)
        #expect(ServerVersion(info: "redis_version:7.2.4\r\nvalkey_version:8.1.1\r\n")?.valkey == true)
    }

    @Test func limits() {
        #expect(SortedSetDump.payload([]) == nil)
        #expect(SortedSetDump.payload((0..<129).map { (Array("m\($0)".utf8), 1.0) }) == nil)
        #expect(SortedSetDump.payload([(Array(repeating: 0x61, count: 65), 1.0)]) == nil)
        #expect(SortedSetDump.canonicalInteger(Array("-0".utf8)) == nil && SortedSetDump.canonicalInteger(Array("007".utf8)) == nil)
        #expect(SortedSetDump.canonicalInteger(Array("-9223372036854775808".utf8)) == Int64.min)
    }

    /// Every server that supports listpack dumps (Redis ≥ 7.0, Valkey) restores the payload
    /// to exactly the members and scores given: integer-looking members of every width,
    /// strings of every length class up to the limit, integral, fractional and tiny scores.
    @Test(arguments: testServerExecutables)
    func serversRestoreThePayload(executable: String) throws {
        try withTestServer(executable: executable) { server in
            let client = RedisClient(endpoint: server.endpoint)
            defer { client.close() }
            let info = try client.execute(RedisCommand("INFO", "server")).string ?? ""
            let version = try #require(ServerVersion(info: info), "INFO server: \(info.prefix(200))")
            guard version.supportsListpackDump else { return }
            let members: [String] = ["0", "7", "127", "128", "-1", "-4096", "4095", "4096", "-32768", "32767", "40000", "-8388608",
                                     "8388607", "8388608", "2147483647", "-2147483649", "9223372036854775807", "-0", "007", "+5",
                                     "a", String(repeating: "b", count: 63), String(repeating: "c", count: 64), "ünï", "x:y z"]
            var rng = SystemRandomNumberGenerator()
            let scores: [Double] = [1, 3, 0.5, 1e-20, 123456789.123, 1e15, 0.4472135954999579, 2]
            let entries = members.enumerated().map { (Array($1.utf8), scores[$0 % scores.count] * (1 + Double($0 % 3) * 1e-9)) }
            let payload = try #require(SortedSetDump.payload(entries.shuffled(using: &rng)))
            var restore = RedisCommand("RESTORE", "k", "0")
            restore.append(bytes: payload)
            restore.append(string: "REPLACE")
            #expect(try client.execute(restore).string == "OK")
            let flat = try client.execute(RedisCommand("ZRANGE", "k", "0", "-1", "WITHSCORES")).array ?? []
            var got: [String: Double] = [:]
            var i = 0
            while i + 1 < flat.count { got[flat[i].string!] = flat[i + 1].double!; i += 2 }
            #expect(got == Dictionary(uniqueKeysWithValues: entries.map { (String(decoding: $0.0, as: UTF8.self), $0.1) }))
            #expect(try client.execute(RedisCommand("ZSCORE", "k", "40000")).double == entries[10].1)
            #expect(try client.execute(RedisCommand("OBJECT", "ENCODING", "k")).string == "listpack")
            #expect(try client.execute(RedisCommand("ZADD", "k", "5", "new")).int == 1)
        }
    }

    /// DUMP payloads read back: our own (uncompressed) payload, and what each server dumps
    /// for a list written with ZADD (its listpack LZF-compressed when long enough), give
    /// the members and scores in the listpack's ascending order.
    @Test(arguments: testServerExecutables)
    func dumpPayloadsReadBack(executable: String) throws {
        let entries: [(member: [UInt8], score: Double)] = (0..<100).map { (Array("member-\($0 % 7)-\($0)".utf8), Double($0 % 9) / 7) }
            + [(Array("12345".utf8), 0.25), (Array("-7".utf8), 3)]
        let ascending = entries.sorted { $0.score != $1.score ? $0.score < $1.score : $0.member.lexicographicallyPrecedes($1.member) }
        let payload = try #require(SortedSetDump.payload(entries))
        let own = try #require(SortedSetDump.members(ofPayload: payload))
        #expect(own.map(\.member) == ascending.map(\.member) && own.map(\.score) == ascending.map(\.score))
        try withTestServer(executable: executable) { server in
            let client = RedisClient(endpoint: server.endpoint)
            defer { client.close() }
            var zadd = RedisCommand("ZADD", "z")
            for e in entries { zadd.append(string: String(e.score)); zadd.append(bytes: e.member) }
            _ = try client.execute(zadd)
            let dump = try #require(try client.execute(RedisCommand("DUMP", "z")).bytes)
            let info = try client.execute(RedisCommand("INFO", "server")).string ?? ""
            guard ServerVersion(info: info)?.supportsListpackDump == true else {
                #expect(SortedSetDump.members(ofPayload: dump) == nil, "an older encoding is left to ZRANGE")
                return
            }
            let read = try #require(SortedSetDump.members(ofPayload: dump))
            #expect(read.map(\.member) == ascending.map(\.member) && read.map(\.score) == ascending.map(\.score))
        }
    }

    @Test func malformedPayloadsAreRefused() {
        #expect(SortedSetDump.members(ofPayload: []) == nil)
        #expect(SortedSetDump.members(ofPayload: Array(repeating: 0x11, count: 40)) == nil)
        #expect(LZF.decompress([0x05, 0x61][...], length: 6) == nil)
    }

    /// The best-first builder gives the bytes of the general one, and falls back to it for
    /// a list out of order.
    @Test func bestFirstPayloadEqualsTheSortedOne() throws {
        let members = ["b", "a", "c", "42", "d", "zz", "e"], scores = [3.0, 2.5, 2.5, 2.5, 1, 0.4472135954999579, 1e-20]
        let built = SortedSetDump.payload(bestFirst: members.count, member: { members[$0] }, score: { scores[$0] })
        #expect(built != nil && built == SortedSetDump.payload(zip(members, scores).map { (Array($0.utf8), $1) }))
        let shuffled = [2, 0, 6, 1, 5, 3, 4]
        let fallback = SortedSetDump.payload(bestFirst: 7, member: { members[shuffled[$0]] }, score: { scores[shuffled[$0]] })
        #expect(fallback == built)
        #expect(SortedSetDump.payload(bestFirst: 0, member: { _ in "" }, score: { _ in 0 }) == nil)
        #expect(SortedSetDump.payload(bestFirst: 1, member: { _ in String(repeating: "x", count: 65) }, score: { _ in 1 }) == nil)
    }
}
