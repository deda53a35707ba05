import Testing
@testable import OnlineCFKV

@Suite struct RedisCommandTests {
    @Test func argumentsAreEncodedAsRedisExpects() {
        var c = RedisCommand("ZADD", "key", 1.5, Int64(-3), UInt64.max, 42, [UInt8]([0, 1]))
        c.append(Double.infinity)
        c.append(-Double.infinity)
        c.append(bytes: [9])
        c.append(string: "é")
        c.append(int: 7)
        c.append(double: 0.1)
        #expect(c.arguments.map { String(decoding: $0, as: UTF8.self) } == [
            "ZADD", "key", "1.5", "-3", "18446744073709551615", "42", "\u{0}\u{1}",
            "inf", "-inf", "\t", "é", "7", "0.1",
        ])
    }

    @Test(arguments: [0.1, 1.0 / 3.0, 1e-300, 123456789.123456789, -2.5e20, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude])
    func doublesRoundTripExactly(value: Double) {
        let text = String(decoding: value.redisBytes, as: UTF8.self)
        #expect(Double(text) == value)
    }

    @Test func descriptionShowsNameAndFirstKeyOnly() {
        #expect(RedisCommand("zadd", "ocf:i2i:42", 1.0, "member").description == "ZADD ocf:i2i:42")
        #expect(RedisCommand("AUTH", "user", "pw").description == "AUTH ***")
        #expect(RedisCommand("auth", "pw").description == "AUTH ***")
        #expect(RedisCommand("PING").description == "PING")
        #expect(RedisCommand("GET", [UInt8]([0x41, 0x00, 0x0a])).description == "GET A\\x00\\x0a")
    }

    @Test func respValueHelpers() {
        #expect(RESPValue.bulkString(Array("1.25".utf8)).double == 1.25)
        #expect(RESPValue.bulkString(Array("inf".utf8)).double == .infinity)
        #expect(RESPValue.bulkString(Array("-inf".utf8)).double == -.infinity)
        #expect(RESPValue.integer(5).int == 5)
        #expect(RESPValue.bulkString(Array("17".utf8)).int == 17)
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.error("ERR x").isError)
        #expect(!RESPValue.null.isError)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.null.string == nil)
        #expect(RESPValue.bulkString([0, 255]).bytes == [0, 255])
    }
}
