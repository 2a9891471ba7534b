// swift-tools-version: 6.2
// An executable that bootstraps a real metrics exporter (swift-prometheus) and runs EventBus with
// it. A package of its own, depending on EventBus by path, so the library's manifest never gains
// an exporter dependency. Build: swift build --package-path Examples/Observability
import PackageDescription

let package = Package(
    name: "EventBusObservabilityExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "EventBus", path: "../.."),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "ObservabilityExample",
            dependencies: [
                .product(name: "EventBus", package: "EventBus"),
                .product(name: "EventBusKafka", package: "EventBus"),
                .product(name: "EventBusNATS", package: "EventBus"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
