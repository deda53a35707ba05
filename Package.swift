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
    ],
    targets: [
        // hiredis from Debian's libhiredis-dev (pkg-config `hiredis`).
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // librdkafka from Debian's librdkafka-dev (pkg-config `rdkafka`): the kafka: source.
        .systemLibrary(
            name: "CRdKafka",
            path: "Sources/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Pure core: events, algorithms, scoring, top-K. No I/O.
        .target(name: "OnlineCFCore"),
        // Adapter: Redis-compatible KV client over hiredis, and a managed redis-server.
        .target(name: "OnlineCFKV", dependencies: ["CHiredis"]),
        // Runtime: input, state, emission, checkpoints; wires core and adapters.
        .target(name: "OnlineCFRuntime", dependencies: ["OnlineCFCore", "OnlineCFKV", "CRdKafka", .product(name: "Yams", package: "Yams"),
                                                          .product(name: "Prometheus", package: "swift-prometheus")]),
        // Thin CLI.
        .executableTarget(
            name: "onlinecf",
            dependencies: [
                "OnlineCFRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Shared by the tests: the brute-force oracle and a redis-server harness.
        .target(name: "OnlineCFTestSupport", dependencies: ["OnlineCFCore", "OnlineCFKV"], path: "Tests/OnlineCFTestSupport"),
        .testTarget(name: "OnlineCFCoreTests", dependencies: ["OnlineCFCore", "OnlineCFTestSupport"]),
        .testTarget(name: "OnlineCFKVTests", dependencies: ["OnlineCFKV"]),
        .testTarget(name: "OnlineCFRuntimeTests", dependencies: ["OnlineCFRuntime", "OnlineCFTestSupport", "onlinecf", "CRdKafka"]),
    ],
    swiftLanguageModes: [.v6]
)
