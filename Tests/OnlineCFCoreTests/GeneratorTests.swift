import Foundation
import Testing
@testable import OnlineCFCore

@Suite struct GeneratorTests {
    private func generate(_ configuration: GeneratorConfiguration) -> [Event] {
        Array(try! EventGenerator(configuration: configuration))
    }

    @Test func sameSeedSameEvents() {
        let config = GeneratorConfiguration(events: 2_000, users: 300, items: 500, seed: 42)
        let a = generate(config)
        #expect(a.count == 2_000)
        #expect(a == generate(config))
    }

    @Test func differentSeedDifferentEvents() {
        let a = generate(GeneratorConfiguration(events: 500, users: 300, items: 500, seed: 1))
        let b = generate(GeneratorConfiguration(events: 500, users: 300, items: 500, seed: 2))
        #expect(a != b)
        #expect(zip(a, b).filter { $0.item == $1.item }.count < 100)
    }

    /// Pins the exact output so any change to the PRNG, sampling or id formatting (which
    /// would break reproducibility across versions) is caught.
    @Test func outputIsPinned() {
        let events = generate(GeneratorConfiguration(events: 3, users: 100, items: 1000, seed: 7))
        let lines = events.map(EventGenerator.jsonLine)
        #expect(lines.count == 3)
        #expect(lines == GeneratorTests.pinnedSeed7, "actual: \(lines)")
    }

    static let pinnedSeed7: [String] = [
        #"{"user":"u37","item":"i793","author":"a11","action":"click","ts":1700000000000}"#,
        #"{"user":"u80","item":"i907","author":"a10","action":"click","ts":1700000000006}"#,
        #"{"user":"u16","item":"i898","author":"a40","action":"dislike","ts":1700000000045}"#,
    ]

    @Test func countsRespectBounds() {
        let config = GeneratorConfiguration(events: 20_000, users: 50, items: 200, authors: 7, seed: 3)
        let events = generate(config)
        #expect(events.count == 20_000)
        var lastTs = Int64.min
        var authorOf: [String: String] = [:]
        for e in events {
            let u = Int(e.user.dropFirst())!, i = Int(e.item.dropFirst())!, a = Int(e.author!.dropFirst())!
            #expect(e.user.first == "u" && (1...50).contains(u))
            #expect(e.item.first == "i" && (1...200).contains(i))
            #expect(e.author!.first == "a" && (1...7).contains(a))
            #expect(["click", "like", "comment", "collect", "share", "dislike"].contains(e.action!))
            #expect(e.timestampMillis! >= lastTs)
            lastTs = e.timestampMillis!
            if let previous = authorOf.updateValue(e.author!, forKey: e.item) {
                #expect(previous == e.author!, "an item keeps its author")
            }
        }
        #expect(events.first?.timestampMillis == 1_700_000_000_000)
        // Mean gap ~50 ms.
        let span = Double(lastTs - 1_700_000_000_000) / Double(events.count - 1)
        #expect(span > 45 && span < 55)
        #expect(Set(events.map(\.user)).count == 50)
        #expect(Set(events.map(\.item)).count > 150)
    }

    @Test func defaultsAndValidation() {
        #expect(GeneratorConfiguration(events: 1, users: 1, items: 100).authors == 5)
        #expect(GeneratorConfiguration(events: 1, users: 1, items: 10).authors == 1)
        #expect(throws: GeneratorConfigurationError.self) {
            try EventGenerator(configuration: GeneratorConfiguration(events: 1, users: 0, items: 1))
        }
        #expect(throws: GeneratorConfigurationError.self) {
            try EventGenerator(configuration: GeneratorConfiguration(events: -1, users: 1, items: 1))
        }
        #expect(throws: GeneratorConfigurationError.self) {
            try EventGenerator(configuration: GeneratorConfiguration(events: 1, users: 1, items: 1, itemZipfExponent: .nan))
        }
        #expect(generate(GeneratorConfiguration(events: 0, users: 1, items: 1)).isEmpty)
        let one = generate(GeneratorConfiguration(events: 5, users: 1, items: 1))
        #expect(one.allSatisfy { $0.user == "u1" && $0.item == "i1" && $0.author == "a1" })
    }

    @Test func popularityIsSkewed() {
        let events = generate(GeneratorConfiguration(events: 50_000, users: 5_000, items: 2_000, seed: 11))
        var counts: [String: Int] = [:]
        for e in events { counts[e.item, default: 0] += 1 }
        let sorted = counts.values.sorted(by: >)
        let top1Percent = sorted.prefix(20).reduce(0, +)
        // Zipf(1.0) over 2000 items: the top 20 hold ~ H(20)/H(2000) ≈ 44% of the events.
        #expect(Double(top1Percent) / Double(events.count) > 0.35)
        // Popular items are not simply the smallest ids.
        let top = counts.max { $0.value < $1.value }!.key
        let topTen = counts.sorted { $0.value > $1.value }.prefix(10).map(\.key)
        #expect(!Set(topTen).isSubset(of: (1...10).map { "i\($0)" }), "top: \(top)")
        // Actions roughly follow the mix.
        let clicks = events.filter { $0.action == "click" }.count
        #expect(abs(Double(clicks) / Double(events.count) - 0.70) < 0.02)
        // Users are heavy-tailed too.
        var userCounts: [String: Int] = [:]
        for e in events { userCounts[e.user, default: 0] += 1 }
        let topUsers = userCounts.values.sorted(by: >).prefix(50).reduce(0, +)
        #expect(Double(topUsers) / Double(events.count) > 0.10)
    }

    @Test func jsonLineFormat() {
        let e = Event(user: "u1", item: "i2", author: "a3", action: "click", timestampMillis: 1_700_000_000_123)
        #expect(EventGenerator.jsonLine(e) == #"{"user":"u1","item":"i2","author":"a3","action":"click","ts":1700000000123}"#)
        #expect(EventGenerator.jsonLine(Event(user: "u", item: "i")) == #"{"user":"u","item":"i"}"#)
        #expect(EventGenerator.jsonLine(Event(user: "a\"b\\c\n\t\u{1}", item: "日本😀", timestampMillis: -5))
            == #"{"user":"a\"b\\c\n\t\u0001","item":"日本😀","ts":-5}"#)
        var buffer: [UInt8] = []
        EventGenerator.appendJSONLine(e, to: &buffer)
        EventGenerator.appendJSONLine(e, to: &buffer)
        #expect(buffer.filter { $0 == 0x0A }.count == 2)
        #expect(buffer.last == 0x0A)
    }

    @Test func roundTripsThroughDecoder() {
        var decoder = try! EventDecoder(format: .jsonl)
        let generated = generate(GeneratorConfiguration(events: 5_000, users: 100, items: 300, seed: 5))
        let odd = [
            Event(user: "a\"b\\c\n\t\u{1}\u{7F}", item: "日本😀 x", author: "/", action: "é", timestampMillis: 1_700_000_000_000),
            Event(user: "42", item: "4.20"),
        ]
        for (k, e) in (generated + odd).enumerated() {
            let line = EventGenerator.jsonLine(e)
            #expect(decoder.decode(Array(line.utf8), lineNumber: k + 1) == .event(e), "\(line)")
        }
    }

    @Test func portableMathIsAccurate() {
        // Compared with the platform libm (which the generator deliberately avoids).
        for x in [1e-9, 0.001, 0.5, 0.999, 1, 1.0001, 1.5, 2, 10, 12345.678, 1e12, 1e300] {
            #expect(abs(PortableMath.log(x) - Foundation.log(x)) <= 4e-16 * max(1, abs(Foundation.log(x))), "log \(x)")
        }
        for y in [-30.0, -1, -0.1, 0, 0.3, 1, 5.5, 40] {
            #expect(abs(PortableMath.exp(y) / Foundation.exp(y) - 1) < 1e-15, "exp \(y)")
        }
        #expect(abs(PortableMath.pow(7, -0.8) / Foundation.pow(7, -0.8) - 1) < 1e-15)
        #expect(PortableMath.pow(3, -1) == 1.0 / 3)
    }

    @Test func zipfSampler() {
        let z = ZipfSampler(count: 4, exponent: 1)
        // 1, 1/2, 1/3, 1/4 normalised by 25/12.
        #expect(abs(z.probability(ofRank: 0) - 0.48) < 1e-12)
        #expect(abs(z.probability(ofRank: 3) - 0.12) < 1e-12)
        var rng = Xoshiro256StarStar(seed: 1)
        var counts = [0, 0, 0, 0]
        for _ in 0..<100_000 { counts[z.sample(&rng)] += 1 }
        #expect(abs(Double(counts[0]) / 100_000 - 0.48) < 0.01)
        let uniform = ZipfSampler(count: 3, exponent: 0)
        #expect(abs(uniform.probability(ofRank: 2) - 1.0 / 3) < 1e-12)
    }

    @Test func xoshiroReferenceValues() {
        // SplitMix64 reference output for seed 1234567 (from the public reference code).
        var sm = SplitMix64(seed: 1_234_567)
        #expect(sm.next() == 6_457_827_717_110_365_317)
        #expect(sm.next() == 3_203_168_211_198_807_973)
    }

    /// A feed with arrivals: items are published and users join as the stream goes, half
    /// the exposure is to items under a day old, and the same seed gives the same feed.
    @Test func aFeedWithArrivalsPublishesItemsAndAddsUsersAsItGoes() {
        var config = GeneratorConfiguration(events: 60_000, users: 2_000, items: 4_000, seed: 9)
        config.arrivals = .init(newItemsPerDay: 4_000, newUsersPerDay: 2_000, exposureHalfLifeMillis: 86_400_000)
        config.meanGapMillis = 86_400_000 / 20_000  // 20,000 events a day: three days
        let events = generate(config)
        #expect(events == generate(config))
        let day = 86_400_000.0
        func number(_ id: String) -> Int { Int(id.dropFirst())! }
        var young = 0, counted = 0
        for e in events {
            let t = Double(e.timestampMillis! - config.startMillis)
            let item = number(e.item), user = number(e.user)
            // Item n is published at (n − 4,000) / 4,000 days; user n joins at (n − 2,000) / 2,000 days.
            let published = Double(item - 4_000) / 4_000 * day, joined = Double(user - 2_000) / 2_000 * day
            #expect(published <= t + day / 4_000 && joined <= t + day / 2_000, "\(e)")
            // After the first day, when the starting catalogue is over a day old.
            if t > day { counted += 1; if t - published < day { young += 1 } }
        }
        let share = Double(young) / Double(counted)
        #expect(abs(share - 0.5) < 0.03, "share of exposure under a day old: \(share)")
        let lastDay = events.filter { Double($0.timestampMillis! - config.startMillis) > 2 * day }
        #expect(lastDay.contains { number($0.item) > 4_000 + 8_000 } && lastDay.contains { number($0.user) > 2_000 + 4_000 })
    }
}
