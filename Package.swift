// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "EventBus",
    platforms: [.macOS(.v15)],
    // Libraries only. The tools (eventbus-pressure, eventbus-kafka-compare, eventbus-nats-compare)
    // are executable targets without products: SwiftPM still builds and runs them here by target
    // name (`swift build --product eventbus-pressure`), but a package that depends on EventBus
    // resolves only what the products it uses need. Measured with an outside package depending on
    // the `EventBus` product (scripts/check-dependencies.sh): with the tools as products it pinned
    // swift-argument-parser, hdrhistogram-swift and swift-numerics too.
    products: [
        .library(name: "EventBus", targets: ["EventBus"]),
        .library(name: "EventBusConformance", targets: ["EventBusConformance"]),
        .library(name: "EventBusKafka", targets: ["EventBusKafka"]),
        .library(name: "EventBusNATS", targets: ["EventBusNATS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // `swift package generate-documentation --target EventBus` (and EventBusKafka, EventBusNATS,
        // EventBusConformance); used by no target, so packages depending on EventBus never resolve it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CNats",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        .target(
            name: "EventBus",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "EventBusKafka",
            dependencies: [
                "EventBus",
                "CKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "EventBusNATS",
            dependencies: [
                "EventBus",
                "CNats",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .executableTarget(
            name: "eventbus-kafka-compare",
            dependencies: [
                "EventBus", "EventBusKafka", "EventBusPressureKit", "CKafka",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/EventBusKafkaCompare"
        ),
        // A consumer-group member in a process of its own, for the tests that kill it with SIGKILL
        // (MemberProcess). Not a product: the test targets depend on it so `swift test` builds it
        // into the products folder beside the test bundle, where MemberProcess finds it.
        .executableTarget(
            name: "EventBusMemberProcess",
            dependencies: [
                "EventBus", "EventBusKafka", "EventBusNATS", "EventBusConformance",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The envelope codec's fuzz target. scripts/fuzz.sh builds it with libFuzzer; built plainly it
        // replays input files. Not a product, and no unsafe flags here: those stay in the script.
        // CLibFuzzer only declares libFuzzer's driver function; it links nothing.
        .systemLibrary(name: "CLibFuzzer"),
        .executableTarget(
            name: "EventBusFuzz",
            dependencies: ["EventBus", "CLibFuzzer"]
        ),
        .testTarget(
            name: "EventBusKafkaTests",
            dependencies: [
                "EventBus", "EventBusKafka", "EventBusConformance", "EventBusMemberProcess",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        .executableTarget(
            name: "eventbus-nats-compare",
            dependencies: [
                "EventBus", "EventBusNATS", "EventBusPressureKit", "CNats",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/EventBusNATSCompare"
        ),
        .target(
            name: "EventBusConformance",
            dependencies: [
                "EventBus",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "EventBusPressureKit",
            dependencies: [
                "EventBus",
                "EventBusKafka",
                "EventBusNATS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "eventbus-pressure",
            dependencies: [
                "EventBus",
                "EventBusPressureKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/EventBusPressure"
        ),
        .testTarget(
            name: "EventBusTests",
            dependencies: [
                "EventBus",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        .testTarget(
            name: "ConformanceTests",
            dependencies: ["EventBus", "EventBusConformance"]
        ),
        .testTarget(
            name: "EventBusNATSTests",
            dependencies: [
                "EventBus", "EventBusNATS", "EventBusConformance", "EventBusMemberProcess",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        .testTarget(
            name: "EventBusPressureKitTests",
            dependencies: ["EventBusPressureKit"]
        ),
        .testTarget(
            name: "PerformanceRegressionTests",
            dependencies: ["EventBus", "EventBusConformance", "EventBusPressureKit"],
            exclude: ["Thresholds"]
        ),
        .testTarget(
            name: "NativeLibrarySmokeTests",
            dependencies: ["CKafka", "CNats"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
