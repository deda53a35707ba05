import ArgumentParser
import Foundation
import OnlineCFCore
import OnlineCFKV
import OnlineCFRuntime
import OnlineCFServe

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the lists and u2i2i recall over HTTP as JSON (GET /v1/i2i/{algo}/{item}, /v1/u2u/{user}, /v1/a2a/{author}, /v1/u2i2i/{user}, /healthz, /metrics).",
        discussion: """
        Prints 'serving http://HOST:PORT' on stderr once listening. Requests run on a pool of \
        --connections KV connections, one request per connection at a time; when all are busy \
        a request waits (at most --max-waiting of them; more are answered 503). Items hidden, \
        deleted or expired at the moment of a request never appear in an answer. \
        SIGTERM/SIGINT stop listening, let requests in progress finish, and exit 0. \
        docs/http-api.md documents every endpoint.
        """
    )

    @OptionGroup var kv: KVOptions

    @Option(name: .long, help: "Address to listen on, HOST:PORT (port 0 picks a free one; 127.0.0.1 serves local clients only).")
    var listen = "127.0.0.1:8080"

    @Option(name: .long, help: "u2i2i's blend when a request names none: ALGO[:WEIGHT],… of swing, itemcf:cooccurrence, itemcf:cosine, itemcf:jaccard, itemcf:lift.")
    var algo = "itemcf:cosine"

    @Option(name: .long, help: "KV connections, i.e. requests served at once; the default is 2 × cores.")
    var connections: Int = 2 * ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Requests that may wait for a busy pool; more are answered 503.")
    var maxWaiting: Int = 1024

    func run() async throws {
        var configuration = ServeConfiguration()
        do { try configuration.setListen(listen) } catch { throw ValidationError("\(error)") }
        do { configuration.defaultBlend = try RecallBlend(parsing: algo) } catch { throw ValidationError("--algo: \(error)") }
        guard (1...1024).contains(connections) else { throw ValidationError("--connections must be from 1 to 1024") }
        guard maxWaiting >= 0 else { throw ValidationError("--max-waiting must be ≥ 0") }
        configuration.connections = connections
        configuration.maxWaiting = maxWaiting
        // Open the store as every command does (starting the private server when there is
        // no --redis), check that it answers and holds a schema this build reads.
        let (handle, store) = try reportingErrors { () throws -> (KVHandle, StateStore) in
            let opened = try kv.open()
            do { _ = try opened.1.loadMeta() } catch { opened.0.close(); throw error }
            opened.0.client.close()
            return opened
        }
        defer { handle.close() }
        do {
            try await ServeServer.run(configuration: configuration, endpoint: handle.client.endpoint, keys: store.keys) { host, port in
                stderrLine("serving http://\(host):\(port)")
            }
        } catch {
            stderrLine("onlinecf: error: \(error)")
            throw ExitCode(1)
        }
        stderrLine("stopped serving")
    }
}
