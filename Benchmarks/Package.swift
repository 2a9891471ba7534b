// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so the library's users never build them (nor resolve
// ordo-one/benchmark and its dependencies).
//
// CodecBenchmark: swift run -c release --package-path Benchmarks CodecBenchmark [iterations] [runs]
// Allocations (ordo-one/benchmark, allocations per message on each backend), with the brokers
// running: ../scripts/allocations.sh [--table | --update], or from this folder
// `swift package benchmark thresholds check` (what CI runs). See ../Docs/Performance.md,
// "Allocations per message".
let package = Package(
    name: "EventBusBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "EventBus", path: ".."),
        // Only the malloc interposer: the default traits also pull in a runtime interposer for
        // Swift 6.3 on Linux that this machine kind's package mirror does not carry.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmark",
            dependencies: [.product(name: "EventBus", package: "EventBus")]
        ),
        .executableTarget(
            name: "Allocations",
            dependencies: [
                .product(name: "EventBus", package: "EventBus"),
                .product(name: "EventBusKafka", package: "EventBus"),
                .product(name: "EventBusNATS", package: "EventBus"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Allocations",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
