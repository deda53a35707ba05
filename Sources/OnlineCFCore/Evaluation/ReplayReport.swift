/// Renders a ``ReplayResult``: a text table and an SVG line chart (hand-written SVG, no
/// dependency). Pure functions of the result.
public enum ReplayReport {
    /// The table: one row per algorithm and channel, one column per refresh policy; each
    /// cell is the hit rate at N and, in parentheses, the user-averaged hit rate, in %.
    public static func table(_ r: ReplayResult, source: String, splitTime: String? = nil) -> String {
        var out = "Replay evaluation of \(source): \(grouped(r.events)) events, \(grouped(r.users)) users, \(grouped(r.items)) items"
        if r.untimed > 0 { out += " (events without a timestamp, left out: \(grouped(r.untimed)))" }
        out += "\n"
        out += "Scored: \(grouped(r.scored)) events of \(grouped(r.scoredUsers)) users, positions \(grouped(r.splitIndex)) to \(grouped(max(r.splitIndex, r.events - 1)))"
        if let splitTime { out += " (from \(splitTime))" }
        out += "; repeats skipped: \(grouped(r.repeats))\n"
        out += "User's last item and recent items: \(r.seeds == .refresh ? "as of the last refresh (like the lists)" : "live (every earlier event); lists as of the last refresh")\n\n"
        out += "hit rate at \(r.n) in % (user-averaged hit rate in %)\n"
        let headers = r.variants.map { $0.policy == "frozen" ? "frozen" : "Δ=\($0.policy)" }
        var rows: [[String]] = [["algorithm", "channel"] + headers]
        let first = r.variants.first?.cells ?? []
        for (k, cell) in first.enumerated() {
            var row = [cell.algorithm, cell.channel.rawValue]
            for v in r.variants {
                let c = v.cells[k]
                row.append("\(fixed(100 * c.hitRate, 2)) (\(fixed(100 * c.userAveragedHitRate, 2)))")
            }
            rows.append(row)
        }
        rows.append(["answered", ""] + r.variants.map { grouped($0.answered) })
        rows.append(["refreshes", ""] + r.variants.map { grouped($0.refreshes) })
        rows.append(["time (s)", ""] + r.variants.map { fixed($0.seconds, 1) })
        let widths = rows[0].indices.map { c in rows.map { $0[c].unicodeScalars.count }.max()! }
        for row in rows {
            var line = ""
            for (c, text) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[c] - text.unicodeScalars.count)
                line += c < 2 ? text + pad : pad + text
                if c < row.count - 1 { line += "  " }
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        out += "\nanswered: scored events whose user had an earlier item in the state queried (the others are misses)\n"
        return out
    }

    /// A line chart of hit rate at N against the refresh policy: one line per algorithm
    /// and channel (colour: algorithm; solid: u2i2i, dashed: i2i).
    public static func svg(_ r: ReplayResult, source: String) -> String {
        let width = 820.0, height = 500.0
        let left = 72.0, right = 250.0, top = 74.0, bottom = 64.0
        let plotW = width - left - right, plotH = height - top - bottom
        let policies = r.variants.map(\.policy)
        let cells = r.variants.first?.cells ?? []
        let maxRate = r.variants.flatMap { $0.cells.map { 100 * $0.hitRate } }.max() ?? 0
        let step = niceStep(maxRate / 5)
        let yMax = max(step, (maxRate / step).rounded(.up) * step)
        func x(_ p: Int) -> Double { policies.count <= 1 ? left + plotW / 2 : left + plotW * (0.06 + 0.88 * Double(p) / Double(policies.count - 1)) }
        func y(_ v: Double) -> Double { top + plotH * (1 - v / yMax) }
        let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        var algorithms: [String] = []
        for c in cells where !algorithms.contains(c.algorithm) { algorithms.append(c.algorithm) }

        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(width / 2))" y="26" text-anchor="middle" font-size="16" font-weight="bold">\(xml("Fresher lists recall better? Replay of \(source), hit rate at N = \(r.n)"))</text>
        <text x="\(Int(width / 2))" y="46" text-anchor="middle" fill="#444">\(xml("\(grouped(r.scored)) scored events (second half of the log, repeats skipped); user's own items \(r.seeds == .refresh ? "as of the last refresh, like the lists" : "live, lists as of the last refresh")"))</text>

        """
        // Grid and y axis.
        var v = 0.0
        while v <= yMax + step / 1000 {
            let yy = fmt(y(v))
            s += "<line x1=\"\(fmt(left))\" y1=\"\(yy)\" x2=\"\(fmt(left + plotW))\" y2=\"\(yy)\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(fmt(left - 8))\" y=\"\(yy)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(trimmed(v, step))</text>\n"
            v += step
        }
        s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(top))\" x2=\"\(fmt(left))\" y2=\"\(fmt(top + plotH))\" stroke=\"#333\"/>\n"
        s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(top + plotH))\" x2=\"\(fmt(left + plotW))\" y2=\"\(fmt(top + plotH))\" stroke=\"#333\"/>\n"
        for (p, name) in policies.enumerated() {
            let label = name == "frozen" ? "frozen at split" : "Δ = \(name)"
            s += "<line x1=\"\(fmt(x(p)))\" y1=\"\(fmt(top + plotH))\" x2=\"\(fmt(x(p)))\" y2=\"\(fmt(top + plotH + 5))\" stroke=\"#333\"/>\n"
            s += "<text x=\"\(fmt(x(p)))\" y=\"\(fmt(top + plotH + 20))\" text-anchor=\"middle\">\(xml(label))</text>\n"
        }
        s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(fmt(height - 16))\" text-anchor=\"middle\">list refresh period (event time): fresher on the left, staler on the right</text>\n"
        s += "<text transform=\"translate(20 \(fmt(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">hit rate at \(r.n) (% of scored events)</text>\n"
        // Lines.
        for (k, cell) in cells.enumerated() {
            let colour = palette[(algorithms.firstIndex(of: cell.algorithm) ?? 0) % palette.count]
            let dash = cell.channel == .i2i ? " stroke-dasharray=\"6 4\"" : ""
            let points = r.variants.indices.map { "\(fmt(x($0))),\(fmt(y(100 * r.variants[$0].cells[k].hitRate)))" }.joined(separator: " ")
            s += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            for (p, variant) in r.variants.enumerated() {
                let rate = 100 * variant.cells[k].hitRate
                let marker = cell.channel == .i2i ? "white" : colour
                s += "<circle cx=\"\(fmt(x(p)))\" cy=\"\(fmt(y(rate)))\" r=\"4\" fill=\"\(marker)\" stroke=\"\(colour)\" stroke-width=\"2\">"
                s += "<title>\(xml("\(cell.algorithm) \(cell.channel.rawValue), \(variant.policy): \(fixed(rate, 2)) %"))</title></circle>\n"
            }
        }
        // Legend.
        let lx = left + plotW + 24
        s += "<text x=\"\(fmt(lx))\" y=\"\(fmt(top + 4))\" font-weight=\"bold\">algorithm, channel</text>\n"
        for (k, cell) in cells.enumerated() {
            let colour = palette[(algorithms.firstIndex(of: cell.algorithm) ?? 0) % palette.count]
            let ly = top + 26 + 22 * Double(k)
            let dash = cell.channel == .i2i ? " stroke-dasharray=\"6 4\"" : ""
            s += "<line x1=\"\(fmt(lx))\" y1=\"\(fmt(ly))\" x2=\"\(fmt(lx + 30))\" y2=\"\(fmt(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            s += "<circle cx=\"\(fmt(lx + 15))\" cy=\"\(fmt(ly))\" r=\"4\" fill=\"\(cell.channel == .i2i ? "white" : colour)\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(fmt(lx + 38))\" y=\"\(fmt(ly))\" dominant-baseline=\"middle\">\(xml("\(cell.algorithm) \(cell.channel.rawValue)"))</text>\n"
        }
        let noteY = top + 26 + 22 * Double(cells.count) + 12
        s += "<text x=\"\(fmt(lx))\" y=\"\(fmt(noteY))\" fill=\"#444\">i2i: list of the user's last item</text>\n"
        s += "<text x=\"\(fmt(lx))\" y=\"\(fmt(noteY + 16))\" fill=\"#444\">u2i2i: recall from recent items</text>\n"
        s += "</svg>\n"
        return s
    }

    // MARK: - Formatting (no Foundation)

    /// `x` with `digits` decimals, rounded half away from zero.
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return "\(x)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (abs(x) * scale).rounded()
        let whole = Int(r / scale), frac = Int(r - Double(whole) * scale)
        var text = "\(whole)"
        if digits > 0 {
            let f = String(frac)
            text += "." + String(repeating: "0", count: max(0, digits - f.count)) + f
        }
        return (x < 0 && r != 0 ? "-" : "") + text
    }

    /// `12345678` → `12,345,678`.
    public static func grouped(_ n: Int) -> String {
        let digits = Array(String(abs(n)))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func fmt(_ v: Double) -> String { fixed(v, 1) }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        for m in [1.0, 2, 5, 10] where m * magnitude >= raw { return m * magnitude }
        return 10 * magnitude
    }

    static func trimmed(_ v: Double, _ step: Double) -> String {
        step >= 1 ? "\(Int(v.rounded()))" : fixed(v, step >= 0.1 ? 1 : 2)
    }

    static func xml(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
