import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private Redis Cluster of N master-only `redis-server` processes on 127.0.0.1, for
/// tests and demos.
///
/// Guarantees:
/// - `start` returns only once every node reports `cluster_state:ok`, knows all N
///   nodes, and all nodes report the same slot map covering all 16384 slots; otherwise
///   it stops whatever it started and throws `.serverStartFailed` saying what was
///   missing (or `.serverNotFound`).
/// - Slots are split evenly in contiguous ranges: node i serves
///   `i * 16384 / N ..< (i + 1) * 16384 / N`.
/// - Each node runs in its own directory `<directory>/node<i>` (unix socket, log,
///   `nodes.conf`, and with `persistence` its RDB snapshot) and listens on a free TCP
///   port p on 127.0.0.1 whose cluster bus port p + 10000 was free too. With
///   `persistence`, starting again on the same directory restarts the same cluster
///   (same ports, node ids and slots; the ports are kept in `<directory>/ports`).
/// - `stop()` stops every node and is idempotent; a directory `start` created itself
///   (no `directory` given) is removed by `stop()`. `deinit` calls `stop()` (saving
///   snapshots when persistence is on).
///
/// `Sendable`: immutable apart from the nodes, which are `Sendable` themselves.
public final class RedisClusterProcess: Sendable {
    /// The nodes, in slot order (node 0 serves the lowest slots).
    public let nodes: [RedisServerProcess]
    /// TCP endpoints of the nodes (127.0.0.1, with the password if `--requirepass` was given).
    public let nodeEndpoints: [RedisEndpoint]
    /// Cluster node ids, in the order of `nodes`.
    public let nodeIDs: [String]
    /// TCP endpoint of node 0: what a client is given to find the cluster.
    public var seedEndpoint: RedisEndpoint { nodeEndpoints[0] }
    /// `redis://127.0.0.1:PORT` of node 0 (no credentials).
    public var url: String {
        guard case .tcp(let host, let port) = seedEndpoint.address else { return "" }
        return "redis://\(host):\(port)"
    }
    /// Directory holding the node directories.
    public let directory: String
    private let removeDirectoryOnStop: Bool

    private init(nodes: [RedisServerProcess], nodeEndpoints: [RedisEndpoint], nodeIDs: [String], directory: String, removeDirectoryOnStop: Bool) {
        self.nodes = nodes
        self.nodeEndpoints = nodeEndpoints
        self.nodeIDs = nodeIDs
        self.directory = directory
        self.removeDirectoryOnStop = removeDirectoryOnStop
    }

    deinit {
        stop(save: true)
    }

    /// Starts `nodeCount` nodes, assigns the slots evenly, joins them and waits until
    /// the cluster is ready.
    ///
    /// - Parameters:
    ///   - directory: where the node directories go; nil creates a short temporary
    ///     directory that `stop()` removes.
    ///   - persistence: RDB snapshots per node, as in `RedisServerProcess`.
    ///   - executable: server binary (see `RedisServerProcess.start`).
    ///   - extraArguments: appended to every node's command line (e.g. `--requirepass`).
    ///   - nodeTimeout: `cluster-node-timeout`.
    ///   - readyTimeout: how long to wait for the cluster to become ready.
    public static func start(
        nodeCount: Int = 3,
        directory: String? = nil,
        persistence: Bool = false,
        executable: String? = nil,
        extraArguments: [String] = [],
        nodeTimeout: Duration = .seconds(5),
        readyTimeout: Duration = .seconds(30),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(KVError) -> RedisClusterProcess {
        guard nodeCount >= 1, nodeCount <= 64 else {
            throw KVError(code: .serverStartFailed, message: "a cluster needs 1…64 nodes, not \(nodeCount)")
        }
        let base = directory ?? "/tmp/ocfcl-\(UUID().uuidString.prefix(8))"
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: base, withIntermediateDirectories: true)
        } catch {
            throw KVError(code: .serverStartFailed, message: "cannot create cluster directory \(base): \(error.localizedDescription)")
        }
        let portsFile = base + "/ports"
        let savedPorts = persistence
            ? (try? String(contentsOfFile: portsFile, encoding: .utf8))?.split(whereSeparator: \.isNewline).compactMap { Int($0) }
            : nil
        if !persistence {
            // A fresh cluster each time: forget any earlier configuration.
            for index in 0..<nodeCount { try? fm.removeItem(atPath: "\(base)/node\(index)/nodes.conf") }
        }
        var started: [RedisServerProcess] = []
        var ports: [Int] = []
        func abandon(_ error: KVError) -> KVError {
            for node in started { node.stop(save: false) }
            if directory == nil { try? fm.removeItem(atPath: base) }
            return error
        }
        let timeoutMillis = Int(nodeTimeout / .milliseconds(1))
        for index in 0..<nodeCount {
            let nodeDirectory = "\(base)/node\(index)"
            var attempt = 0
            while true {
                attempt += 1
                let reuse = savedPorts?.count == nodeCount && attempt == 1
                let port = reuse ? savedPorts![index] : freeClusterPort(excluding: ports)
                let arguments = [
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", nodeDirectory + "/nodes.conf",
                    "--cluster-node-timeout", String(timeoutMillis),
                ] + extraArguments
                do {
                    let node = try RedisServerProcess.start(
                        directory: nodeDirectory, port: port, persistence: persistence,
                        executable: executable, extraArguments: arguments, environment: environment)
                    started.append(node)
                    ports.append(port)
                    break
                } catch {
                    // The port may have been taken meanwhile: try another one.
                    if error.code == .serverStartFailed, attempt < 4, !reuse { continue }
                    throw abandon(error)
                }
            }
        }
        if persistence {
            try? ports.map(String.init).joined(separator: "\n").write(toFile: portsFile, atomically: true, encoding: .utf8)
        }
        let endpoints = zip(started, ports).map { node, port in
            RedisEndpoint.tcp(host: "127.0.0.1", port: port, user: node.endpoint.user, password: node.endpoint.password)
        }
        do {
            let ids = try bootstrap(started, ports: ports, readyTimeout: readyTimeout)
            return RedisClusterProcess(nodes: started, nodeEndpoints: endpoints, nodeIDs: ids, directory: base, removeDirectoryOnStop: directory == nil)
        } catch {
            throw abandon(error)
        }
    }

    /// Stops every node (`SHUTDOWN SAVE` when `save` and persistence are on). Idempotent.
    public func stop(save: Bool = true) {
        for node in nodes { node.stop(save: save) }
        if removeDirectoryOnStop { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The index of the node serving `slot` according to the initial even split.
    public func initialNodeIndex(for slot: HashSlot) -> Int {
        slot.rawValue * nodes.count / HashSlot.count
    }

    // MARK: - Internals

    /// Assigns slots and joins the nodes (unless they already form the cluster, e.g. a
    /// restart from `nodes.conf`), then waits for agreement. Returns the node ids.
    private static func bootstrap(_ nodes: [RedisServerProcess], ports: [Int], readyTimeout: Duration) throws(KVError) -> [String] {
        let connections = try nodes.map { (node: RedisServerProcess) throws(KVError) -> RedisConnection in
            try RedisConnection(endpoint: node.endpoint, connectTimeout: .seconds(2), commandTimeout: .seconds(10))
        }
        defer { for connection in connections { connection.close() } }
        var ids: [String] = []
        for connection in connections {
            guard let id = try connection.execute(RedisCommand("CLUSTER", "MYID")).string else {
                throw KVError(code: .serverStartFailed, message: "CLUSTER MYID gave no id", server: connection.endpoint.displayName)
            }
            ids.append(id)
        }
        let count = nodes.count
        let info0 = try clusterInfo(connections[0])
        let alreadyFormed = info0["cluster_known_nodes"] == String(count) && info0["cluster_slots_assigned"] == String(HashSlot.count)
        if !alreadyFormed {
            for (index, connection) in connections.enumerated() {
                // Distinct epochs up front spare the nodes the epoch-collision rounds.
                _ = try connection.send(RedisCommand("CLUSTER", "SET-CONFIG-EPOCH", index + 1))
                let first = index * HashSlot.count / count
                let last = (index + 1) * HashSlot.count / count - 1
                let reply = try connection.send(RedisCommand("CLUSTER", "ADDSLOTSRANGE", first, last))
                if case .error = reply {
                    // Redis < 7: no ADDSLOTSRANGE.
                    var addSlots = RedisCommand("CLUSTER", "ADDSLOTS")
                    for slot in first...last { addSlots.append(int: slot) }
                    try connection.execute(addSlots)
                }
            }
            for port in ports.dropFirst() {
                try connections[0].execute(RedisCommand("CLUSTER", "MEET", "127.0.0.1", port))
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + readyTimeout
        var problem = "not checked yet"
        while clock.now < deadline {
            problem = try readinessProblem(connections, ports: ports) ?? ""
            if problem.isEmpty { return ids }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw KVError(code: .serverStartFailed, message: "Redis Cluster of \(count) node(s) on ports \(ports.map(String.init).joined(separator: ", ")) not ready within \(readyTimeout): \(problem)")
    }

    /// Why the cluster is not ready yet, or nil when it is.
    private static func readinessProblem(_ connections: [RedisConnection], ports: [Int]) throws(KVError) -> String? {
        var firstMap: ClusterSlotMap? = nil
        for (index, connection) in connections.enumerated() {
            let info = try clusterInfo(connection)
            if info["cluster_state"] != "ok" { return "node \(index) (port \(ports[index])) reports cluster_state:\(info["cluster_state"] ?? "?")" }
            if info["cluster_known_nodes"] != String(connections.count) {
                return "node \(index) (port \(ports[index])) knows \(info["cluster_known_nodes"] ?? "?") of \(connections.count) nodes"
            }
            let seed = RedisEndpoint.tcp(host: "127.0.0.1", port: ports[index])
            let map = try ClusterSlotMap(clusterSlotsReply: try connection.send(RedisCommand("CLUSTER", "SLOTS")), seed: seed)
            if !map.coversAllSlots { return "node \(index) (port \(ports[index])) does not see all slots assigned" }
            if let firstMap, firstMap != map { return "node \(index) (port \(ports[index])) disagrees with node 0 on the slot map" }
            firstMap = map
        }
        return nil
    }

    private static func clusterInfo(_ connection: RedisConnection) throws(KVError) -> [String: String] {
        let text = try connection.execute(RedisCommand("CLUSTER", "INFO")).string ?? ""
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// A port p such that p and p + 10000 (the cluster bus) are free on 127.0.0.1.
    private static func freeClusterPort(excluding taken: [Int]) -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20000...45000)
            if taken.contains(port) || taken.contains(port - 10000) || taken.contains(port + 10000) { continue }
            if isTCPPortFree(port) && isTCPPortFree(port + 10000) { return port }
        }
        return Int.random(in: 20000...45000)
    }

    private static func isTCPPortFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
    }
}
