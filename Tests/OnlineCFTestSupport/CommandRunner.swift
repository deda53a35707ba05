import Foundation
import OnlineCFKV

/// Runs the built `onlinecf` executable as a user would: arguments, standard input from
/// a file or bytes, and the exit status, stdout and stderr it produced.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum OnlineCFBinary {
    /// `$ONLINECF_BINARY`, else `onlinecf` beside the test bundle (SwiftPM's build folder).
    public static var path: String {
        if let path = ProcessInfo.processInfo.environment["ONLINECF_BINARY"] { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("onlinecf").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("onlinecf").path
    }

    /// Runs `onlinecf arguments…` to completion.
    public static func run(_ arguments: [String], stdinFile: String? = nil, stdin: [UInt8]? = nil,
                           environment: [String: String] = [:]) throws -> CommandResult {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocf-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outPath = dir.appendingPathComponent("out").path, errPath = dir.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        var inputPath = stdinFile ?? "/dev/null"
        if let stdin {
            inputPath = dir.appendingPathComponent("in").path
            _ = FileManager.default.createFile(atPath: inputPath, contents: Data(stdin))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle(forReadingAtPath: inputPath)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        process.waitUntilExit()
        let out = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        let err = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        return CommandResult(status: process.terminationStatus, stdout: out, stderr: err)
    }
}

/// A real redis-server for one test, in a fresh temporary folder, stopped afterwards.
public final class TestRedis {
    public let server: RedisServerProcess
    public let directory: String

    public init(tcp: Bool = false, executable: String? = nil) throws {
        directory = "/tmp/ocf-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        server = try RedisServerProcess.start(directory: directory, port: tcp ? RedisServerProcess.findFreeTCPPort() : 0,
                                              persistence: false, executable: executable)
    }

    /// `unix:///…/redis.sock`, or `redis://127.0.0.1:PORT` for a TCP server.
    public var url: String {
        if let port = server.tcpPort { return "redis://127.0.0.1:\(port)" }
        return "unix://\(directory)/redis.sock"
    }

    deinit {
        server.stop(save: false)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// `../shared/data/ml-100k.inter` beside the package, if present.
public enum SharedData {
    public static var ml100k: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.deletingLastPathComponent().appendingPathComponent("shared/data/ml-100k.inter").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
