import Benchmark
import EventBus
import EventBusKafka
import EventBusNATS
import Foundation
import Synchronization

// Allocations per message on each backend, the way swift-nio pins its allocation counts: every
// sample publishes `batch` envelopes in one call (and, for "publish and consume", waits until a
// subscription handled them), and the malloc count of the sample is compared with Thresholds/.
// Per message = count / 1,000. Consume alone = (publish and consume) - publish. The counts are
// process-wide, so they include librdkafka's and nats.c's own threads.

let batch = 1000

/// The fixture's envelopes with new event IDs: NATS drops a message whose ID it saw in the last
/// two minutes (its duplicate window), so every sample publishes new ones. Made before the
/// measurement starts.
func freshEnvelopes(_ envelopes: [Envelope]) -> [Envelope] {
    var fresh = envelopes
    for index in fresh.indices { fresh[index].eventID = UUIDv7.generate() }
    return fresh
}

/// What the benchmarks share between setup, samples and teardown.
struct Fixture: Sendable {
    var bus: any EventBus
    var topic: String
    var subscription: (any Subscription)?
    var envelopes: [Envelope]
}

let fixtures = Mutex<[String: Fixture]>([:])
let handled = Atomic<Int>(0)

func makeEnvelopes(_ count: Int) -> [Envelope] {
    (0..<count).map { index in
        Envelope(
            aggregateID: "agg-\(index % 100)", eventType: "Benchmarked", eventVersion: Int64(index / 100 + 1),
            payload: Array(#"{"amount":125.50,"currency":"EUR","n":42}"#.utf8))
    }
}

func makeBus(_ backend: String) async throws -> any EventBus {
    let environment = ProcessInfo.processInfo.environment
    switch backend {
    case "memory":
        // Room for every sample's messages when nobody consumes them.
        return try await InMemoryEventBus.connect(
            InMemoryConfiguration(partitionsPerTopic: 3, partitionCapacity: 1_000_000))
    case "kafka":
        var configuration = KafkaConfiguration(
            bootstrapServers: [environment["EVENTBUS_KAFKA_BROKERS"] ?? "127.0.0.1:9092"],
            consumer: KafkaConsumerOptions(sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300)))
        configuration.logger.logLevel = .warning
        return try await KafkaEventBus.connect(configuration)
    default:
        var configuration = NATSConfiguration(servers: [environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"])
        configuration.stream.name = "EVENTBUS_BENCHMARKS"
        configuration.subjectPrefix = "benchmarks"
        configuration.stream.maxAge = .seconds(3600)
        configuration.logger.logLevel = .warning
        return try await NATSEventBus.connect(configuration)
    }
}

func setUp(_ name: String, backend: String, consume: Bool) async throws {
    let bus = try await makeBus(backend)
    let topic = "bench-\(backend)-\(consume ? "pc" : "p")-\(UInt32.random(in: 0...UInt32.max))"
    var subscription: (any Subscription)?
    if consume {
        subscription = try await bus.subscribe(
            topic: topic, group: "benchmarks",
            envelopeHandler: { _ in
                handled.add(1, ordering: .relaxed)
            })
    }
    let fixture = Fixture(bus: bus, topic: topic, subscription: subscription, envelopes: makeEnvelopes(batch))
    fixtures.withLock { $0[name] = fixture }
}

func tearDown(_ name: String) async {
    guard let fixture = fixtures.withLock({ $0.removeValue(forKey: name) }) else { return }
    if let subscription = fixture.subscription { await subscription.close() }
    if let nats = fixture.bus as? NATSEventBus {
        _ = try? await nats.deleteGroup(topic: fixture.topic, group: "benchmarks")
    }
    await fixture.bus.shutdown()
}

/// How far a sample's p90 malloc count may move from `Thresholds/` before the check fails; the
/// check fails when either bound is passed. In memory the counts are exact (8 and 296 a sample):
/// half or 100. Broker clients allocate on their own threads as timing goes (NATS publish and
/// consume spread 30k-32k within one run): 15 % or 5,000.
func configuration(for backend: String) -> Benchmark.Configuration {
    let tolerance: BenchmarkThresholds =
        backend == "memory"
        ? .init(relative: [.p90: 50], absolute: [.p90: 100])
        : .init(relative: [.p90: 15], absolute: [.p90: 5000])
    return .init(
        metrics: [.mallocCountTotal], warmupIterations: 2, maxDuration: .seconds(3), maxIterations: 30,
        thresholds: [.mallocCountTotal: tolerance])
}

let benchmarks: @Sendable () -> Void = {
    for backend in ["memory", "kafka", "nats"] {
        let publish = "\(backend)_publish_\(batch)"
        Benchmark(publish, configuration: configuration(for: backend)) { benchmark in
            guard let fixture = fixtures.withLock({ $0[publish] }) else { return }
            let envelopes = freshEnvelopes(fixture.envelopes)
            benchmark.startMeasurement()
            try await fixture.bus.publish(envelopes, to: fixture.topic)
            benchmark.stopMeasurement()
        } setup: {
            try await setUp(publish, backend: backend, consume: false)
        } teardown: {
            await tearDown(publish)
        }

        let roundTrip = "\(backend)_publish_and_consume_\(batch)"
        Benchmark(roundTrip, configuration: configuration(for: backend)) { benchmark in
            guard let fixture = fixtures.withLock({ $0[roundTrip] }) else { return }
            let envelopes = freshEnvelopes(fixture.envelopes)
            let target = handled.load(ordering: .relaxed) + batch
            benchmark.startMeasurement()
            try await fixture.bus.publish(envelopes, to: fixture.topic)
            let deadline = ContinuousClock.now + .seconds(30)
            while handled.load(ordering: .relaxed) < target && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            benchmark.stopMeasurement()
        } setup: {
            try await setUp(roundTrip, backend: backend, consume: true)
        } teardown: {
            await tearDown(roundTrip)
        }
    }
}
