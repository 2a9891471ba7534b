// Bootstraps swift-prometheus as the process's swift-metrics backend, runs an EventBus (in memory by
// default; Kafka or NATS with EVENTBUS_EXAMPLE_BACKEND=kafka|nats), publishes and handles a few
// events, then prints the bus's health and the Prometheus text a `/metrics` endpoint would serve.
//
//   swift run --package-path Examples/Observability
//   source scripts/env.sh && EVENTBUS_EXAMPLE_BACKEND=kafka swift run --package-path Examples/Observability
//
// Metric names and dimensions: Docs/Observability.md, "Metrics"; health rules: "Health".
import EventBus
import EventBusKafka
import EventBusNATS
import Foundation
import Metrics
import Prometheus
import Synchronization

// 1. Bootstrap the exporter before building the bus: the bus's metrics factory defaults to
//    `MetricsSystem.factory`, read when the bus is built.
let registry = PrometheusCollectorRegistry()
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

// Tracing is bootstrapped the same way, before the bus, by the service's own package; with swift-otel
// (https://github.com/swift-otel/swift-otel, not a dependency here because its first build takes
// minutes):
//
//     import OTel
//     let observability = try OTel.bootstrap()   // InstrumentationSystem, W3C propagation, OTLP export
//     // ... build the bus, then run `observability` and the bus in one ServiceGroup.

// 2. Build a bus: every backend has the same `connect(_:)`, which validates the configuration.
let environment = ProcessInfo.processInfo.environment
let backend = environment["EVENTBUS_EXAMPLE_BACKEND"] ?? "memory"
let bus: any EventBus
switch backend {
case "kafka":
    var configuration = KafkaConfiguration(
        bootstrapServers: [environment["EVENTBUS_KAFKA_BROKERS"] ?? "127.0.0.1:9092"])
    // Tansu answers a second JoinGroup only after half the session timeout: keep it short here.
    configuration.consumer.sessionTimeout = .seconds(3)
    configuration.consumer.heartbeatInterval = .milliseconds(300)
    bus = try await KafkaEventBus.connect(configuration)
case "nats":
    var configuration = NATSConfiguration(servers: [environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"])
    // A stream of the example's own, so it leaves other users of the server alone.
    configuration.stream.name = "EVENTBUS_EXAMPLE"
    configuration.subjectPrefix = "example"
    bus = try await NATSEventBus.connect(configuration)
case "memory":
    bus = try await InMemoryEventBus.connect(InMemoryConfiguration())
default:
    print("EVENTBUS_EXAMPLE_BACKEND must be memory, kafka or nats, not '\(backend)'")
    exit(2)
}

// 3. Handle and publish a few events.
let topic = "orders-\(UInt32.random(in: 0...UInt32.max))"
let total = 10
let handled = Atomic<Int>(0)
let failedOnce = Atomic<Bool>(false)
let subscription = try await bus.subscribe(topic: topic, group: "billing") { message in
    if message.key == "order-2" && !failedOnce.exchange(true, ordering: .relaxed) {
        // One failed attempt, so the restart counter shows up too; the pool calls the handler again.
        throw EventBusError(.timeout, "first attempt fails on purpose", isRetriable: true)
    }
    handled.add(1, ordering: .relaxed)
}
try await bus.publish(
    (0..<total).map { OutgoingMessage(topic: topic, key: "order-\($0 % 3)", payload: Array("event \($0)".utf8)) })
let deadline = ContinuousClock.now + .seconds(30)
while handled.load(ordering: .relaxed) < total, ContinuousClock.now < deadline {
    try await Task.sleep(for: .milliseconds(10))
}
print("# \(backend): \(handled.load(ordering: .relaxed)) of \(total) events handled on topic \(topic)")
let health = await bus.health()
print("# health: \(health.status.rawValue)")
for (key, value) in health.details.sorted(by: { $0.key < $1.key }) { print("#   \(key) = \(value)") }
await subscription.close()
await bus.shutdown()

// 4. What GET /metrics would answer (serve it with any HTTP server, e.g. Hummingbird or Vapor).
var text: [UInt8] = []
registry.emit(into: &text)
print(String(decoding: text, as: UTF8.self))
