import Foundation
import Testing
import OnlineCFCore
import OnlineCFRuntime
import OnlineCFTestSupport

/// Parses `onlinecf export` output into lists.
func parseExport(_ text: String) -> [String: BruteForce.List] {
    var lists: [String: BruteForce.List] = [:]
    for line in text.split(separator: "\n") {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard f.count == 3, let score = Double(f[2]) else { Issue.record("bad export line: \(line)"); continue }
        lists[TSVEscaping.unescape(f[0]), default: []].append((TSVEscaping.unescape(f[1]), score))
    }
    return lists
}

func expectSameLists(_ expected: [String: BruteForce.List], _ actual: [String: BruteForce.List], tolerance: Double = 1e-12,
                     _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let missing = Set(expected.keys).subtracting(actual.keys), extra = Set(actual.keys).subtracting(expected.keys)
    #expect(missing.isEmpty && extra.isEmpty, "\(label): \(missing.count) lists missing (e.g. \(missing.prefix(3))), \(extra.count) extra (e.g. \(extra.prefix(3)))", sourceLocation: sourceLocation)
    var failures = 0
    for (id, list) in expected {
        if let diff = BruteForce.difference(expected: list, actual: actual[id] ?? [], tolerance: tolerance) {
            failures += 1
            if failures <= 3 { Issue.record("\(label): list of \(id): \(diff)", sourceLocation: sourceLocation) }
        }
    }
    #expect(failures == 0, "\(label): \(failures) of \(expected.count) lists differ", sourceLocation: sourceLocation)
}

/// Decodes a file the way the CLI does, to feed the oracle the same events.
func decodeEvents(path: String, format: EventFormat) throws -> [Event] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try decodeEvents(bytes: Array(data), format: format)
}

func decodeEvents(bytes: [UInt8], format: EventFormat) throws -> [Event] {
    var decoder = try EventDecoder(format: format)
    var events: [Event] = []
    var number = 0
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
        number += 1
        if case .event(let e) = decoder.decode(Array(line), lineNumber: number) { events.append(e) }
    }
    return events
}

/// Runs onlinecf and requires exit status 0.
@discardableResult
func onlinecf(_ arguments: [String], stdinFile: String? = nil, stdin: [UInt8]? = nil, environment: [String: String] = [:],
              sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
    let result = try OnlineCFBinary.run(arguments, stdinFile: stdinFile, stdin: stdin, environment: environment)
    #expect(result.status == 0, "onlinecf \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr.suffix(2000))", sourceLocation: sourceLocation)
    return result
}

func generatedEvents(_ n: Int, users: Int, items: Int, seed: UInt64) throws -> [UInt8] {
    var generator = try EventGenerator(configuration: GeneratorConfiguration(events: n, users: users, items: items, seed: seed))
    var bytes: [UInt8] = []
    while let e = generator.next() { EventGenerator.appendJSONLine(e, to: &bytes) }
    return bytes
}
