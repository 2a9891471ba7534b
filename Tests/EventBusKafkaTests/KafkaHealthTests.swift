import EventBus
import EventBusConformance
import EventBusKafka
import XCTest

/// Issue 13's health tests on Kafka: a broker of the test's own (``PrivateTansu``) stopped or
/// paused, and a stalled subscription on the shared broker.
final class KafkaHealthTests: XCTestCase {
    private static let probeTimeout = Duration.milliseconds(300)
    private static let unhealthyAfter = Duration.seconds(1)

    /// A bus on a private broker with short health bounds; librdkafka's reconnect backoff is
    /// capped at 500 ms (default 10 s) so the bus finds a restarted broker within seconds.
    private func busOnPrivateBroker() throws -> (PrivateTansu, KafkaEventBus) {
        let broker = try PrivateTansu()
        let configuration = try KafkaTestBroker.configuration(brokers: broker.address, quiet: true) {
            $0.health = KafkaHealthOptions(probeTimeout: Self.probeTimeout, unhealthyAfter: Self.unhealthyAfter)
            $0.librdkafkaOptions["reconnect.backoff.max.ms"] = "500"
        }
        return (broker, try KafkaEventBus(configuration: configuration))
    }

    func testHealthTurnsDegradedThenUnhealthyWhenTheBrokerStopsAndHealthyWhenItStartsAgain() async throws {
        let (broker, bus) = try busOnPrivateBroker()
        let timeline = try await HealthScenarios.followsOutage(
            of: bus, probeTimeout: Self.probeTimeout, unhealthyAfter: Self.unhealthyAfter,
            outage: { broker.kill() }, recovery: { try broker.start() })
        XCTAssertEqual(timeline.firstDegraded.health.details["eventbus.kafka.brokers"], "unreachable")
        XCTAssertNotNil(timeline.unhealthy.health.details["eventbus.kafka.unreachable_ms"])
        print(
            "Kafka broker stopped: degraded after \(timeline.firstDegraded.after), unhealthy after "
                + "\(timeline.unhealthy.after), healthy \(timeline.recoveredAfter) after the restart")
        await bus.shutdown()
    }

    func testHealthTurnsDegradedThenUnhealthyWhenTheBrokerIsPausedAndHealthyWhenItResumes() async throws {
        let (broker, bus) = try busOnPrivateBroker()
        let timeline = try await HealthScenarios.followsOutage(
            of: bus, probeTimeout: Self.probeTimeout, unhealthyAfter: Self.unhealthyAfter,
            outage: { broker.pause() }, recovery: { broker.resume() })
        XCTAssertEqual(timeline.firstDegraded.health.details["eventbus.kafka.brokers"], "unreachable")
        print(
            "Kafka broker paused (SIGSTOP): degraded after \(timeline.firstDegraded.after), unhealthy after "
                + "\(timeline.unhealthy.after), healthy \(timeline.recoveredAfter) after SIGCONT")
        await bus.shutdown()
    }

    func testHealthIsDegradedNamingTheSubscriptionWhileAHandlerStalls() async throws {
        try KafkaTestBroker.requireReachable()
        var pool = ActorPoolConfiguration()
        pool.stallTimeout = .milliseconds(300)
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration(pool: pool))
        let topic = KafkaTestBroker.uniqueTopic("stall")
        try await HealthScenarios.reportsStall(
            of: bus, topic: topic, group: "g-\(topic)", stallTimeout: pool.stallTimeout)
        await bus.shutdown()
    }
}
