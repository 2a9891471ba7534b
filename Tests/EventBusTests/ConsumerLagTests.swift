import EventBus
import XCTest

final class ConsumerLagTests: XCTestCase {
    func testLagCountsEveryRetainedMessageWhenTheGroupNeverSubscribed() async throws {
        let bus = try InMemoryEventBus(configuration: InMemoryConfiguration(partitionsPerTopic: 4))
        try await bus.publish((0..<40).map { OutgoingMessage(topic: "orders", key: "k\($0)", payload: [1]) })
        let lag = try await bus.consumerLag(topic: "orders", group: "nobody")
        XCTAssertEqual(lag.total, 40)
        XCTAssertEqual(lag.partitions.map(\.partition), [0, 1, 2, 3])
        XCTAssertEqual(lag.partitions.reduce(0) { $0 + $1.lag }, 40)
        await bus.shutdown()
    }

    func testLagThrowsTypedErrorsWhenTopicIsUnknownNameIllegalOrBusShutDown() async throws {
        let bus = try InMemoryEventBus()
        do {
            _ = try await bus.consumerLag(topic: "never-used", group: "g")
            XCTFail("an unknown topic must throw")
        } catch {
            XCTAssertEqual(error.code, .topicMismatch)
        }
        do {
            _ = try await bus.consumerLag(topic: "orders", group: "")
            XCTFail("an empty group must throw")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
        await bus.shutdown()
        do {
            _ = try await bus.consumerLag(topic: "orders", group: "g")
            XCTFail("lag after shutdown must throw")
        } catch {
            XCTAssertEqual(error.code, .shutDown)
        }
    }

    func testEntryStoresZeroWhenGivenANegativeLag() {
        XCTAssertEqual(ConsumerLag.Partition(partition: 0, lag: -3).lag, 0)
    }

    func testValidationRefusesWhenSampleIntervalOrLagBoundIsOutOfRange() {
        XCTAssertThrowsError(try ActorPoolConfiguration(metricsSampleInterval: .zero).validate()) { error in
            XCTAssertEqual((error as? EventBusError)?.field, "metricsSampleInterval")
        }
        XCTAssertThrowsError(try ActorPoolConfiguration(maxConsumerLag: -1).validate()) { error in
            XCTAssertEqual((error as? EventBusError)?.field, "maxConsumerLag")
        }
        XCTAssertNoThrow(try ActorPoolConfiguration(maxConsumerLag: 0).validate())
    }
}
