import Foundation
import OnlineCFCore
import Yams

/// Reads a job file (YAML, version 1; docs/job-files.md documents every field)
/// into a ``JobSpec``. Unknown fields, wrong types and malformed YAML are reported with
/// their field path and line, all at once.
public enum JobFile {
    public static func load(path: String) throws(JobSpecError) -> JobSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobSpecError(issues: [.init(path: path, line: nil, message: "cannot read the job file")])
        }
        return try parse(String(decoding: data, as: UTF8.self))
    }

    /// Reads the fields. Malformed YAML throws; problems with single fields are kept in
    /// ``JobSpec/problems`` and reported by ``JobSpec/resolve()`` with every other one.
    public static func parse(_ text: String) throws(JobSpecError) -> JobSpec {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw JobSpecError(issues: [.init(path: "(file)", line: nil, message: "not valid YAML: \(error)")])
        }
        var reader = Reader()
        guard let root, case .mapping(let top) = root else {
            throw JobSpecError(issues: [.init(path: "(file)", line: root?.mark?.line, message: "expected a mapping of fields (see docs/job-files.md)")])
        }
        reader.read(top, prefix: "")
        if reader.spec.lines["version"] == nil {
            reader.issue("version", nil, "missing: write 'version: 1' as the first field")
        }
        var spec = reader.spec
        spec.problems = reader.issues
        return spec
    }

    private struct Reader {
        var spec = JobSpec()
        var issues: [JobSpecError.Issue] = []

        mutating func issue(_ path: String, _ line: Int?, _ message: String) {
            issues.append(.init(path: path, line: line, message: message))
        }

        mutating func read(_ mapping: Node.Mapping, prefix: String) {
            for (keyNode, value) in mapping {
                guard let key = keyNode.string else { issue(prefix + "?", keyNode.mark?.line, "field names must be text"); continue }
                let path = prefix + key
                let line = keyNode.mark?.line
                spec.lines[path] = line
                if path == "version" {
                    if value.int != 1 { issue(path, line, "this build reads job files of version 1") }
                } else if let setting = settings[path] {
                    read(setting, value, path, line)
                } else if sections.contains(path) {
                    guard case .mapping(let inner) = value else { issue(path, line, "expected a mapping of fields"); continue }
                    read(inner, prefix: path + ".")
                } else {
                    issue(path, line, "unknown field")
                }
            }
        }

        /// Every field by its path, and the sections that group them (`swing`, `kv`, …).
        let settings = Dictionary(uniqueKeysWithValues: JobSpec.settings.map { ($0.path, $0) })
        let sections = Set(JobSpec.settings.compactMap { $0.path.split(separator: ".").count > 1 ? String($0.path.split(separator: ".")[0]) : nil })

        mutating func read(_ setting: JobSetting, _ value: Node, _ path: String, _ line: Int?) {
            switch setting.kind {
            case .text(let key): spec[keyPath: key] = string(value, path, line)
            case .list(let key): spec[keyPath: key] = list(value, path, line)?.joined(separator: ",")
            case .int(let key): spec[keyPath: key] = int(value, path, line)
            case .number(let key): spec[keyPath: key] = double(value, path, line)
            case .flag(let key): spec[keyPath: key] = bool(value, path, line)
            case .unsigned(let key):
                if let v = int(value, path, line) {
                    if v >= 0 { spec[keyPath: key] = UInt64(v) } else { issue(path, line, "expected a whole number ≥ 0, got \(v)") }
                }
            case .mode:
                switch value.string {
                case "stream": spec.mode = .stream
                case "batch": spec.mode = .batch
                default: issue(path, line, "expected stream or batch")
                }
            case .format:
                if let s = string(value, path, line) {
                    if let f = EventFormat(rawValue: s) { spec.format = f } else { issue(path, line, "expected jsonl, tsv or inter, got '\(s)'") }
                }
            case .columns:
                if let names = list(value, path, line) {
                    var fields: [EventField] = []
                    for n in names {
                        if let f = EventField(rawValue: n) { fields.append(f) } else {
                            issue(path, line, "unknown column '\(n)': use user, item, author, action, ts or ignore")
                        }
                    }
                    spec.columns = fields
                }
            case .actionWeights:
                switch value {
                case .mapping(let m):
                    var parts: [String] = []
                    for (k, v) in m {
                        guard let name = k.string, let w = v.float else { issue(path, line, "expected action: weight pairs, e.g. click: 1"); continue }
                        parts.append("\(name)=\(w)")
                    }
                    spec.actionWeights = parts.joined(separator: ",")
                default:
                    spec.actionWeights = string(value, path, line)
                }
            }
        }

        mutating func string(_ node: Node, _ path: String, _ line: Int?) -> String? {
            guard case .scalar(let s) = node else { issue(path, line, "expected text"); return nil }
            return s.string
        }
        mutating func int(_ node: Node, _ path: String, _ line: Int?) -> Int? {
            guard case .scalar = node, let v = node.int else { issue(path, line, "expected a whole number, got \(describe(node))"); return nil }
            return v
        }
        mutating func double(_ node: Node, _ path: String, _ line: Int?) -> Double? {
            guard case .scalar = node, let v = node.float else { issue(path, line, "expected a number, got \(describe(node))"); return nil }
            return v
        }
        mutating func bool(_ node: Node, _ path: String, _ line: Int?) -> Bool? {
            guard case .scalar = node, let v = node.bool else { issue(path, line, "expected true or false, got \(describe(node))"); return nil }
            return v
        }
        /// A list of text, written as a YAML sequence or as one comma-separated string.
        mutating func list(_ node: Node, _ path: String, _ line: Int?) -> [String]? {
            switch node {
            case .scalar(let s): return s.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case .sequence(let items):
                var out: [String] = []
                for item in items {
                    guard case .scalar(let s) = item else { issue(path, line, "expected a list of text"); return nil }
                    out.append(s.string)
                }
                return out
            default:
                issue(path, line, "expected a list"); return nil
            }
        }
        func describe(_ node: Node) -> String {
            switch node {
            case .scalar(let s): return "'\(s.string)'"
            case .mapping: return "a mapping"
            case .sequence: return "a list"
            case .alias: return "an alias"
            }
        }
    }
}
