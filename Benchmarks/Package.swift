// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so the library's users never build them.
// Run: swift run -c release --package-path Benchmarks CodecBenchmark [iterations] [runs]
let package = Package(
    name: "EventBusBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "EventBus", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmark",
            dependencies: [.product(name: "EventBus", package: "EventBus")]
        )
    ],
    swiftLanguageModes: [.v6]
)
