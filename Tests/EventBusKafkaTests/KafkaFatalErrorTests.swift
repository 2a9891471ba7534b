import EventBus
import EventBusKafka
import XCTest

/// An idempotent producer that hit a fatal error (librdkafka refuses every later produce call, as
/// after a broker forgot its producer state: `UNKNOWN_PRODUCER_ID`) must not look usable.
final class KafkaFatalErrorTests: XCTestCase {
    func testHealthIsUnhealthyAndPublishesFailWhenTheProducerHitAFatalError() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("fatal")
        try await bus.publish(OutgoingMessage(topic: topic, key: "k", payload: Array("before".utf8)))
        let before = await bus.health()
        XCTAssertEqual(before.status, .healthy, "\(before.details)")
        XCTAssertNil(before.details["eventbus.kafka.fatal_error"])

        bus.raiseFatalErrorForTesting(reason: "the broker forgot this producer")
        let after = await bus.health()
        XCTAssertEqual(after.status, .unhealthy, "\(after.details)")
        XCTAssertEqual(after.details["eventbus.kafka.fatal_error"], "UNKNOWN_PRODUCER_ID")
        XCTAssertTrue(after.details["eventbus.cause"]?.contains("the broker forgot this producer") ?? false)
        do {
            try await bus.publish(OutgoingMessage(topic: topic, key: "k", payload: Array("after".utf8)))
            XCTFail("a producer with a fatal error published")
        } catch {
            XCTAssertFalse(error.isRetriable, "retrying cannot help after a fatal error: \(error)")
            XCTAssertTrue(error.message.contains("UNKNOWN_PRODUCER_ID"), "\(error)")
        }
        await bus.shutdown()
    }
}
