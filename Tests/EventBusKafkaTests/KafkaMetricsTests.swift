import EventBus
import EventBusKafka
import MetricsTestKit
import Synchronization
import XCTest

final class KafkaMetricsTests: XCTestCase {
    func testPoolCountersCarryTopicAndGroupWhenMessagesAreHandled() async throws {
        try KafkaTestBroker.requireReachable()
        let metrics = TestMetrics()
        let bus = try KafkaEventBus(
            configuration: try KafkaTestBroker.configuration { $0.pool.metricsFactory = metrics })
        let topic = KafkaTestBroker.uniqueTopic("metrics")
        let handled = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { handled.add($0) }
        try await bus.publish((0..<3).map { OutgoingMessage(topic: topic, key: "k\($0)", payload: [1]) })
        let all = await Collector.waitUntil(timeout: .seconds(20)) { handled.count >= 3 }
        XCTAssertTrue(all, "handled \(handled.count) of 3")
        await subscription.close()
        await bus.shutdown()
        let counter = try metrics.expectCounter(
            "eventbus_messages_processed_total",
            [("backend", "kafka"), ("topic", topic), ("group", "g-\(topic)"), ("outcome", "handled")])
        XCTAssertEqual(counter.totalValue, 3)
    }

    /// A handler still running when its partition is revoked, past the revocation timeout: the
    /// member lets the partition go anyway, says so at error level and counts it.
    func testRevocationTimeoutIsCountedWhenAHandlerOutlivesIt() async throws {
        try KafkaTestBroker.requireReachable()
        let metrics = TestMetrics()
        let configuration = try KafkaTestBroker.configuration {
            $0.pool.metricsFactory = metrics
            $0.consumer.revocationTimeout = .milliseconds(500)
        }
        let first = try KafkaEventBus(configuration: configuration)
        let second = try KafkaEventBus(configuration: configuration)
        let topic = KafkaTestBroker.uniqueTopic("revocation")
        let group = "g-\(topic)"
        let entered = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)
        // Keys for every partition, so the joining member takes some partition the blocked one holds.
        try await first.publish((0..<30).map { OutgoingMessage(topic: topic, key: "k\($0)", payload: [1]) })
        let subscription = try await first.subscribe(topic: topic, group: group) { _ in
            entered.store(true, ordering: .relaxed)
            let deadline = ContinuousClock.now + .seconds(30)
            while !release.load(ordering: .relaxed) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        let blocked = await Collector.waitUntil(timeout: .seconds(20)) { entered.load(ordering: .relaxed) }
        XCTAssertTrue(blocked)
        let joined = try await second.subscribe(topic: topic, group: group) { _ in }
        let counted = await Collector.waitUntil(timeout: .seconds(30)) {
            ((try? metrics.expectCounter(
                "eventbus_revocation_timeouts_total", [("backend", "kafka"), ("topic", topic), ("group", group)]))?
                .totalValue ?? 0) >= 1
        }
        release.store(true, ordering: .relaxed)
        XCTAssertTrue(counted, "eventbus_revocation_timeouts_total was not counted")
        await joined.close()
        await subscription.close()
        await second.shutdown()
        await first.shutdown()
    }
}
