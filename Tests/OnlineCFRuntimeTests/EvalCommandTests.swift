import Foundation
import Testing
import OnlineCFTestSupport

/// `onlinecf eval` on the hand-computed log of `ReplayEvaluatorTests`, as a .inter file.
@Suite struct EvalCommandTests {
    static let inter: String = {
        let hour = 1_699_999_200   // seconds; a multiple of 1 h
        var lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
        var m = 0
        for u in ["u1", "u2", "u3", "u4"] { for i in ["a", "b"] { lines.append("\(u)\t\(i)\t5\t\(hour + 60 * m)"); m += 1 } }
        for (u, i) in [("u5", "a"), ("u5", "b"), ("u1", "x"), ("u1", "y"), ("u2", "x"), ("u2", "y"), ("u3", "x"), ("u3", "y")] {
            lines.append("\(u)\t\(i)\t5\t\(hour + 60 * m)"); m += 1
        }
        lines.append("u1\ta\t5\t\(hour + 60 * 16)")   // a repeat
        lines.append("u9\tz\t5\t")                     // no timestamp
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func printsTableAndWritesChart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocf-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tiny.inter").path, chart = dir.appendingPathComponent("chart.svg").path
        try Self.inter.write(toFile: file, atomically: true, encoding: .utf8)

        let r = try onlinecf(["eval", file, "--algos", "itemcf:cosine,swing", "--deltas", "1m,5m,frozen", "--plot", chart])
        let rows = r.stdout.split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("algorithm") && $0.contains("Δ=1m") && $0.contains("Δ=5m") && $0.hasSuffix("frozen") })
        // Hits as computed by hand in ReplayEvaluatorTests: 5, 1 and 0 of 8.
        let cosine = rows.first { $0.hasPrefix("itemcf:cosine") && $0.contains("i2i") && !$0.contains("u2i2i") }
        #expect(cosine?.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                == ["itemcf:cosine", "i2i", "62.50", "(62.50)", "12.50", "(12.50)", "0.00", "(0.00)"])
        #expect(r.stdout.contains("events without a timestamp, left out: 1") && r.stdout.contains("repeats skipped: 1"))
        let svg = try String(contentsOfFile: chart, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("tiny.inter") && svg.contains("</svg>"))
        #expect(r.stderr.contains("chart written to"))

        let json = try onlinecf(["eval", file, "--algos", "itemcf:cosine", "--deltas", "1m", "--plot", "none", "--json", "--seeds", "live"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["scored"] as? Int == 8 && object?["seeds"] as? String == "live")

        let bad = try OnlineCFBinary.run(["eval", file, "--algos", "u2u:cosine"])
        #expect(bad.status != 0 && bad.stderr.contains("not an i2i algorithm"))
    }
}
