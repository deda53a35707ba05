import CHiredis
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking connection to a Redis-compatible server (a hiredis `redisContext`).
///
/// Guarantees:
/// - Arguments and bulk replies are binary-safe.
/// - Server error replies are returned as `RESPValue.error`, never thrown, by `send`
///   and `pipeline`; `execute` throws them as `.serverError`.
/// - Pipelines of any length work with bounded client-side buffering: commands are
///   written in chunks (at most `pipelineChunkCommands` commands or
///   `pipelineChunkBytes` bytes) and each chunk's replies are read before the next.
/// - After an I/O, timeout or protocol error the connection is `isBroken` and every
///   further call throws `.connectionLost` without touching the socket.
///
/// Not `Sendable`: a connection is owned by one thread of control at a time (hiredis
/// contexts are not thread-safe). Calls block the calling thread.
///
/// Creating a connection sets the process-wide `SIGPIPE` disposition to "ignore", so
/// that writing to a socket the server closed yields an error instead of killing the
/// process.
public final class RedisConnection {
    /// The server this connection talks to.
    public let endpoint: RedisEndpoint
    /// Number of commands sent through `send`/`execute`/`pipeline` (the AUTH/SELECT
    /// handshake is not counted).
    public private(set) var commandsSent: Int = 0
    /// True after an I/O, timeout or protocol error, or after `close()`.
    public private(set) var isBroken: Bool = false

    /// Maximum number of commands written before their replies are read.
    public static let pipelineChunkCommands = 1000
    /// Maximum number of argument bytes written before their replies are read.
    public static let pipelineChunkBytes = 8 << 20

    private var context: UnsafeMutablePointer<redisContext>?
    // Reusable argv scratch space (one contiguous byte buffer plus pointer/length arrays),
    // so appending a command costs a memcpy per argument and no allocations.
    private var scratchBytes: UnsafeMutableRawPointer
    private var scratchBytesCapacity: Int
    private var argvPointers: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private var argvLengths: UnsafeMutablePointer<Int>
    private var argvCapacity: Int

    /// Connects, then sends AUTH (if the endpoint has a password; `AUTH user password`
    /// when it also has a user) and SELECT (if the database is non-zero).
    ///
    /// - Parameters:
    ///   - connectTimeout: limit for establishing the connection.
    ///   - commandTimeout: limit for each blocking read/write; nil blocks indefinitely.
    /// - Throws: `.connectionFailed` if the server cannot be reached, `.serverError`
    ///   if AUTH or SELECT is rejected.
    public init(endpoint: RedisEndpoint, connectTimeout: Duration = .seconds(5), commandTimeout: Duration? = .seconds(30)) throws(KVError) {
        Self.ignoreSIGPIPE
        self.endpoint = endpoint
        scratchBytesCapacity = 4096
        scratchBytes = .allocate(byteCount: scratchBytesCapacity, alignment: 16)
        argvCapacity = 64
        argvPointers = .allocate(capacity: argvCapacity)
        argvLengths = .allocate(capacity: argvCapacity)

        let connectTV = Self.makeTimeval(connectTimeout)
        let ctx: UnsafeMutablePointer<redisContext>?
        switch endpoint.address {
        case .tcp(let host, let port):
            ctx = redisConnectWithTimeout(host, Int32(port), connectTV)
        case .unix(let path):
            ctx = redisConnectUnixWithTimeout(path, connectTV)
        }
        guard let ctx else {
            isBroken = true
            throw KVError(code: .connectionFailed, message: "cannot allocate connection", server: endpoint.displayName)
        }
        if ctx.pointee.err != 0 {
            let text = Self.errorText(ctx)
            redisFree(ctx)
            isBroken = true
            throw KVError(code: .connectionFailed, message: "cannot connect: \(text)", server: endpoint.displayName)
        }
        context = ctx
        if let commandTimeout {
            if redisSetTimeout(ctx, Self.makeTimeval(commandTimeout)) != REDIS_OK {
                let text = Self.errorText(ctx)
                close()
                throw KVError(code: .connectionFailed, message: "cannot set timeout: \(text)", server: endpoint.displayName)
            }
        }
        do {
            try handshake()
        } catch {
            close()
            throw error
        }
    }

    deinit {
        if let context { redisFree(context) }
        scratchBytes.deallocate()
        argvPointers.deallocate()
        argvLengths.deallocate()
    }

    /// Closes the connection; later calls throw `.connectionLost`. Idempotent.
    public func close() {
        if let context { redisFree(context) }
        context = nil
        isBroken = true
    }

    /// Sends one command and returns its reply (error replies as `.error`).
    public func send(_ command: RedisCommand) throws(KVError) -> RESPValue {
        try pipeline(CollectionOfOne(command))[0]
    }

    /// Sends one command; an error reply is thrown as `.serverError` naming the
    /// command and server.
    @discardableResult
    public func execute(_ command: RedisCommand) throws(KVError) -> RESPValue {
        let reply = try send(command)
        if case .error(let message) = reply {
            throw KVError(code: .serverError, message: message, server: endpoint.displayName, command: command.description)
        }
        return reply
    }

    /// Sends all commands pipelined and returns their replies in order (error replies
    /// as `.error` values). Written and read in bounded chunks; see the type docs.
    public func pipeline(_ commands: [RedisCommand]) throws(KVError) -> [RESPValue] {
        try pipeline(commands[...])
    }

    /// `pipeline` for any random-access collection of commands.
    public func pipeline<C: RandomAccessCollection>(_ commands: C) throws(KVError) -> [RESPValue] where C.Element == RedisCommand {
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        var index = commands.startIndex
        while index != commands.endIndex {
            let chunkStart = index
            var chunkCount = 0
            var chunkBytes = 0
            while index != commands.endIndex,
                  chunkCount < Self.pipelineChunkCommands,
                  chunkBytes < Self.pipelineChunkBytes
            {
                let command = commands[index]
                try append(command)
                chunkCount += 1
                chunkBytes += command.byteCount + 16 * command.arguments.count
                index = commands.index(after: index)
            }
            var replyIndex = chunkStart
            for _ in 0..<chunkCount {
                replies.append(try readReply(command: commands[replyIndex]))
                replyIndex = commands.index(after: replyIndex)
            }
        }
        return replies
    }

    // MARK: - Internals

    private static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    private func handshake() throws(KVError) {
        if let password = endpoint.password {
            var auth = RedisCommand("AUTH")
            if let user = endpoint.user { auth.append(string: user) }
            auth.append(string: password)
            try append(auth)
            let reply = try readReply(command: auth)
            if case .error(let message) = reply {
                let who = endpoint.user.map { "user '\($0)'" } ?? "password"
                throw KVError(code: .serverError, message: "authentication failed (\(who)): \(message)", server: endpoint.displayName, command: "AUTH ***")
            }
            commandsSent -= 1
        }
        if endpoint.database != 0 {
            let select = RedisCommand("SELECT", endpoint.database)
            try append(select)
            let reply = try readReply(command: select)
            if case .error(let message) = reply {
                throw KVError(code: .serverError, message: "cannot select database \(endpoint.database): \(message)", server: endpoint.displayName, command: select.description)
            }
            commandsSent -= 1
        }
    }

    private func liveContext(_ command: RedisCommand?) throws(KVError) -> UnsafeMutablePointer<redisContext> {
        guard !isBroken, let context else {
            throw KVError(code: .connectionLost, message: "connection is closed or broken after an earlier error", server: endpoint.displayName, command: command?.description)
        }
        return context
    }

    /// Copies the command's arguments into the scratch buffers and queues it in hiredis's output buffer.
    private func append(_ command: RedisCommand) throws(KVError) {
        let ctx = try liveContext(command)
        let args = command.arguments
        let argc = args.count
        guard argc > 0 else {
            throw KVError(code: .protocolError, message: "empty command", server: endpoint.displayName)
        }
        var total = 0
        for a in args { total += a.count }
        if total > scratchBytesCapacity {
            scratchBytes.deallocate()
            scratchBytesCapacity = max(total, scratchBytesCapacity * 2)
            scratchBytes = .allocate(byteCount: scratchBytesCapacity, alignment: 16)
        }
        if argc > argvCapacity {
            argvPointers.deallocate()
            argvLengths.deallocate()
            argvCapacity = max(argc, argvCapacity * 2)
            argvPointers = .allocate(capacity: argvCapacity)
            argvLengths = .allocate(capacity: argvCapacity)
        }
        var offset = 0
        for i in 0..<argc {
            let count = args[i].count
            let destination = scratchBytes + offset
            if count > 0 {
                args[i].withUnsafeBytes { src in
                    destination.copyMemory(from: src.baseAddress!, byteCount: count)
                }
            }
            argvPointers[i] = UnsafePointer(destination.assumingMemoryBound(to: CChar.self))
            argvLengths[i] = count
            offset += count
        }
        if redisAppendCommandArgv(ctx, Int32(argc), argvPointers, argvLengths) != REDIS_OK {
            throw fail(ctx, command: command)
        }
        commandsSent += 1
    }

    private func readReply(command: RedisCommand) throws(KVError) -> RESPValue {
        let ctx = try liveContext(command)
        var raw: UnsafeMutableRawPointer? = nil
        if redisGetReply(ctx, &raw) != REDIS_OK || raw == nil {
            if let raw { freeReplyObject(raw) }
            throw fail(ctx, command: command)
        }
        defer { freeReplyObject(raw) }
        return Self.convert(raw!.assumingMemoryBound(to: redisReply.self))
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(Int(r.elements))
            for i in 0..<Int(r.elements) {
                if let element = r.element[i] { elements.append(convert(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .error("unsupported reply type \(r.type)")
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Marks the connection broken and maps hiredis's error state to a `KVError`.
    private func fail(_ ctx: UnsafeMutablePointer<redisContext>, command: RedisCommand?) -> KVError {
        let savedErrno = errno
        let text = Self.errorText(ctx)
        let code: KVError.Code
        switch ctx.pointee.err {
        case REDIS_ERR_EOF:
            code = .connectionLost
        case REDIS_ERR_PROTOCOL, REDIS_ERR_OOM:
            code = .protocolError
        case REDIS_ERR_IO:
            let timedOut = savedErrno == EAGAIN || savedErrno == EWOULDBLOCK || savedErrno == ETIMEDOUT
                || text.contains("temporarily unavailable") || text.contains("timed out")
            code = timedOut ? .timeout : .connectionLost
        default:
            code = .connectionLost
        }
        close()
        let message = code == .timeout ? "command timed out (\(text))" : text.isEmpty ? "connection error" : text
        return KVError(code: code, message: message, server: endpoint.displayName, command: command?.description)
    }

    private static func errorText(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func makeTimeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        let micros = attoseconds / 1_000_000_000_000
        return timeval(tv_sec: .init(max(0, seconds)), tv_usec: .init(max(0, micros)))
    }
}

@available(*, unavailable, message: "RedisConnection is owned by one thread of control; use one connection per thread")
extension RedisConnection: Sendable {}
