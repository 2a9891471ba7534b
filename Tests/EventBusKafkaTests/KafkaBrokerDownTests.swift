import EventBus
import EventBusKafka
import XCTest

final class KafkaBrokerDownTests: XCTestCase {
    /// A port nothing listens on.
    private let deadBroker = "127.0.0.1:1"

    private func assertRetriableFailure(
        _ error: EventBusError, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertTrue(
            [.timeout, .connectionFailed].contains(error.code), "\(error)", file: file, line: line)
        XCTAssertTrue(error.isRetriable, "\(error)", file: file, line: line)
    }

    func testPublishFailsWithRetriableErrorInBoundedTimeWhenBrokerIsDown() async throws {
        let configuration = try KafkaTestBroker.configuration(brokers: deadBroker, quiet: true) {
            $0.producer.messageTimeout = .seconds(2)
            $0.topics.operationTimeout = .seconds(2)
        }
        let bus = try KafkaEventBus(configuration: configuration)
        let start = ContinuousClock.now
        do {
            try await bus.publish(OutgoingMessage(topic: "nowhere", key: "k", payload: [1]))
            XCTFail("publish succeeded without a broker")
        } catch {
            assertRetriableFailure(error)
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(10))
        await bus.shutdown()
    }

    func testSubscribeFailsWithRetriableErrorInBoundedTimeWhenBrokerIsDown() async throws {
        let configuration = try KafkaTestBroker.configuration(brokers: deadBroker, quiet: true) {
            $0.topics.operationTimeout = .seconds(2)
            $0.consumer.assignmentTimeout = .seconds(2)
        }
        let bus = try KafkaEventBus(configuration: configuration)
        let start = ContinuousClock.now
        do {
            _ = try await bus.subscribe(topic: "nowhere", group: "nobody") { _ in }
            XCTFail("subscribe succeeded without a broker")
        } catch {
            assertRetriableFailure(error)
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(10))
        await bus.shutdown()
    }

    func testPublishFailsWithShutDownWhenBusWasShutDown() async throws {
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration(brokers: deadBroker, quiet: true))
        await bus.shutdown()
        await bus.shutdown()
        do {
            try await bus.publish(OutgoingMessage(topic: "t", payload: [1]))
            XCTFail("publish after shutdown succeeded")
        } catch {
            XCTAssertEqual(error.code, .shutDown)
        }
    }
}

extension KafkaBrokerDownTests {
    func testPublishFailsWithRetriableTimeoutAfterMessageTimeoutWhenBrokerDiesAfterStart() async throws {
        let broker = try PrivateTansu()
        let configuration = try KafkaTestBroker.configuration(brokers: broker.address, quiet: true) {
            $0.producer.messageTimeout = .seconds(2)
        }
        let bus = try KafkaEventBus(configuration: configuration)
        let topic = KafkaTestBroker.uniqueTopic("dies")
        // The broker needs a moment to open its port; the first publish retries until it does.
        var delivered = false
        let ready = ContinuousClock.now + .seconds(10)
        while !delivered && ContinuousClock.now < ready {
            do {
                try await bus.publish(OutgoingMessage(topic: topic, key: "k", payload: [1]))
                delivered = true
            } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        XCTAssertTrue(delivered, "the private broker never accepted a message")
        broker.kill()
        let start = ContinuousClock.now
        do {
            try await bus.publish(OutgoingMessage(topic: topic, key: "k", payload: [2]))
            XCTFail("publish succeeded after the broker died")
        } catch {
            XCTAssertEqual(error.code, .timeout, "\(error)")
            XCTAssertTrue(error.isRetriable)
        }
        let elapsed = ContinuousClock.now - start
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(1500), "failed before the message timeout")
        XCTAssertLessThan(elapsed, .seconds(10))
        await bus.shutdown()
    }
}

extension KafkaBrokerDownTests {
    func testHealthIsDegradedThenUnhealthyWhenNoBrokerAnswers() async throws {
        let configuration = try KafkaTestBroker.configuration(brokers: deadBroker, quiet: true) {
            $0.health = KafkaHealthOptions(probeTimeout: .milliseconds(500), unhealthyAfter: .seconds(1))
        }
        let bus = try KafkaEventBus(configuration: configuration)
        let first = await bus.health()
        XCTAssertEqual(first.status, .degraded, "\(first.details)")
        XCTAssertEqual(first.details["eventbus.kafka.brokers"], "unreachable")
        XCTAssertNotNil(first.details["eventbus.cause"])
        // Unreachable for longer than unhealthyAfter: unhealthy.
        let deadline = ContinuousClock.now + .seconds(10)
        var status = first.status
        while status != .unhealthy, ContinuousClock.now < deadline {
            status = await bus.health().status
        }
        XCTAssertEqual(status, .unhealthy)
        await bus.shutdown()
    }

    func testHealthFollowsTheBrokerWhenItStops() async throws {
        let broker = try PrivateTansu()
        let configuration = try KafkaTestBroker.configuration(brokers: broker.address, quiet: true) {
            $0.health = KafkaHealthOptions(probeTimeout: .milliseconds(500), unhealthyAfter: .seconds(30))
        }
        let bus = try KafkaEventBus(configuration: configuration)
        // The broker needs a moment to open its port.
        let ready = ContinuousClock.now + .seconds(10)
        var health = await bus.health()
        while health.status != .healthy, ContinuousClock.now < ready { health = await bus.health() }
        XCTAssertEqual(health.status, .healthy, "\(health.details)")
        XCTAssertEqual(health.details["eventbus.kafka.brokers"], "1")
        broker.kill()
        let stopped = ContinuousClock.now + .seconds(10)
        while health.status == .healthy, ContinuousClock.now < stopped { health = await bus.health() }
        XCTAssertEqual(health.status, .degraded, "every broker stopped, yet \(health.details)")
        XCTAssertEqual(health.details["eventbus.kafka.brokers"], "unreachable")
        await bus.shutdown()
        let closed = await bus.health()
        XCTAssertEqual(closed.status, .unhealthy)
    }
}
