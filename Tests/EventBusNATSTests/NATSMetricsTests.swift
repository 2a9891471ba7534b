import EventBus
import EventBusNATS
import MetricsTestKit
import XCTest

final class NATSMetricsTests: XCTestCase {
    func testPoolCountersCarryTopicAndGroupWhenMessagesAreHandled() async throws {
        let metrics = TestMetrics()
        var configuration = NATSTestEnvironment.configuration(url: try NATSTestEnvironment.requireBroker())
        configuration.pool.metricsFactory = metrics
        let bus = try await NATSEventBus.connect(configuration)
        let topic = NATSTestEnvironment.uniqueTopic()
        let handled = Recorder<String>()
        let subscription = try await bus.subscribe(topic: topic, group: "metrics") { handled.append($0.key ?? "") }
        try await bus.publish((0..<3).map { OutgoingMessage(topic: topic, key: "k\($0)", payload: [1]) })
        try await NATSTestEnvironment.waitUntil("3 messages handled") { handled.count >= 3 }
        await subscription.close()
        await bus.shutdown()
        let counter = try metrics.expectCounter(
            "eventbus_messages_processed_total",
            [("backend", "nats"), ("topic", topic), ("group", "metrics"), ("outcome", "handled")])
        XCTAssertEqual(counter.totalValue, 3)
    }
}
