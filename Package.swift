// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "OnlineCF",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "onlinecf", targets: ["onlinecf"]),
        .library(name: "OnlineCFCore", targets: ["OnlineCFCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // `onlinecf serve` only: the HTTP server (SwiftNIO underneath). NIO, NIO's HTTP types
        // (for the request-body limit handler) and swift-log come with Hummingbird; they are
        // named here because OnlineCFServe imports them.
        // Its default traits are off: swift-configuration support (a package to build) and
        // full Foundation for its URL-encoded forms, neither of which serve uses.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // hiredis from Debian's libhiredis-dev: headers in the default include path
        // (<hiredis/hiredis.h>), so no pkg-config (its `-D_FILE_OFFSET_BITS=64` is a flag
        // SwiftPM refuses, with a warning in every build).
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // librdkafka from Debian's librdkafka-dev (pkg-config `rdkafka`): the kafka: source.
        .systemLibrary(
            name: "CRdKafka",
            path: "Sources/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Pure core: events, algorithms, scoring, top-K. No I/O. Optimised in debug builds
        // too: the tests drive the built binary over real data, and the core's own hash
        // tables and rows run tens of times slower unoptimised (the standard library's
        // come precompiled).
        .target(name: "OnlineCFCore", swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Adapter: Redis-compatible KV client over hiredis, and a managed redis-server.
        .target(name: "OnlineCFKV", dependencies: ["CHiredis"]),
        // Runtime: input, state, emission, checkpoints; wires core and adapters.
        .target(name: "OnlineCFRuntime", dependencies: ["OnlineCFCore", "OnlineCFKV", "CRdKafka", .product(name: "Yams", package: "Yams"),
                                                          .product(name: "Prometheus", package: "swift-prometheus")]),
        // HTTP layer of `onlinecf serve`: Hummingbird over a pool of blocking KV connections.
        // Kept apart so the runtime (and every other command's code) does not pull in NIO.
        .target(name: "OnlineCFServe", dependencies: ["OnlineCFRuntime", "OnlineCFCore", "OnlineCFKV",
                                                        .product(name: "Hummingbird", package: "hummingbird"),
                                                        .product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                                                        .product(name: "Logging", package: "swift-log")]),
        // Thin CLI.
        .executableTarget(
            name: "onlinecf",
            dependencies: [
                "OnlineCFRuntime",
                "OnlineCFServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Shared by the tests: the brute-force oracle and a redis-server harness.
        .target(name: "OnlineCFTestSupport", dependencies: ["OnlineCFCore", "OnlineCFKV"], path: "Tests/OnlineCFTestSupport"),
        .testTarget(name: "OnlineCFCoreTests", dependencies: ["OnlineCFCore", "OnlineCFTestSupport"]),
        .testTarget(name: "OnlineCFKVTests", dependencies: ["OnlineCFKV"]),
        .testTarget(name: "OnlineCFRuntimeTests", dependencies: ["OnlineCFRuntime", "OnlineCFTestSupport", "onlinecf", "CRdKafka"]),
        // `onlinecf serve` over real HTTP against a real redis-server (runs the built CLI).
        .testTarget(name: "OnlineCFServeTests", dependencies: ["OnlineCFServe", "OnlineCFRuntime", "OnlineCFCore", "OnlineCFKV", "OnlineCFTestSupport", "onlinecf"]),
    ],
    swiftLanguageModes: [.v6]
)
