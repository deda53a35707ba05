// swift-tools-version: 6.1
// Micro-benchmarks of OnlineCF's hot paths (ordo-one/benchmark). A package of its own so
// that the main build and CI do not build the benchmark tooling. Run from this folder:
//   swift package benchmark            (all)      swift package benchmark --filter decode
import PackageDescription

/// SwiftPM names a path dependency after its folder, so use whatever the checkout is called.
let mainPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "main").lowercased()

let package = Package(
    name: "OnlineCFBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "OnlineCFBenchmarks",
            dependencies: [
                .product(name: "OnlineCFCore", package: mainPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/OnlineCFBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
