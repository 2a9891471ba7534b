import EventBus
import EventBusKafka
import XCTest

final class KafkaConfigurationTests: XCTestCase {
    private func assertInvalid(
        field: String, file: StaticString = #filePath, line: UInt = #line,
        _ build: () throws -> Void
    ) {
        XCTAssertThrowsError(try build(), file: file, line: line) { error in
            guard let error = error as? EventBusError else {
                return XCTFail("unexpected \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.code, .invalidConfiguration, file: file, line: line)
            XCTAssertEqual(error.field, field, file: file, line: line)
        }
    }

    func testDefaultsAreValidWhenOnlyBrokersGiven() throws {
        let configuration = try KafkaConfiguration(bootstrapServers: ["127.0.0.1:9092"])
        XCTAssertEqual(configuration.producer.acks, .all)
        XCTAssertTrue(configuration.producer.idempotent)
        XCTAssertEqual(configuration.topics.partitions, 3)
        XCTAssertEqual(configuration.topics.deadLetterTopic(for: "orders"), "orders.dlq")
    }

    func testBuildFailsWhenNoBrokerGiven() {
        assertInvalid(field: "bootstrapServers") { _ = try KafkaConfiguration(bootstrapServers: []) }
    }

    func testBuildFailsWhenBrokerIsNotHostAndPort() {
        assertInvalid(field: "bootstrapServers") {
            _ = try KafkaConfiguration(bootstrapServers: ["localhost"])
        }
        assertInvalid(field: "bootstrapServers") {
            _ = try KafkaConfiguration(bootstrapServers: ["localhost:99999"])
        }
    }

    func testBuildFailsWhenIdempotentProducerDoesNotWaitForAllReplicas() {
        assertInvalid(field: "producer.acks") {
            _ = try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], producer: KafkaProducerOptions(acks: .leader))
        }
    }

    func testBuildFailsWhenHeartbeatIsNotBelowSessionTimeout() {
        assertInvalid(field: "consumer.heartbeatInterval") {
            _ = try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"],
                consumer: KafkaConsumerOptions(
                    sessionTimeout: .seconds(3), heartbeatInterval: .seconds(3)))
        }
    }

    func testBuildFailsWhenTopicOptionsAreOutOfRange() {
        assertInvalid(field: "topics.partitions") {
            _ = try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], topics: KafkaTopicOptions(partitions: 0))
        }
        assertInvalid(field: "topics.deadLetterSuffix") {
            _ = try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], topics: KafkaTopicOptions(deadLetterSuffix: ""))
        }
    }

    func testBuildFailsWhenPassthroughOverridesManualCommits() {
        assertInvalid(field: "librdkafkaOptions") {
            _ = try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"],
                librdkafkaOptions: ["enable.auto.commit": "true"])
        }
    }

    func testBuildFailsWhenPoolSettingsAreInvalid() {
        assertInvalid(field: "actorCount") {
            _ = try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], pool: ActorPoolConfiguration(actorCount: 0))
        }
    }

    func testBusCreationFailsWhenLibrdkafkaRejectsAPassthroughValue() throws {
        let configuration = try KafkaConfiguration(
            bootstrapServers: ["127.0.0.1:9092"], librdkafkaOptions: ["linger.ms": "not-a-number"])
        XCTAssertThrowsError(try KafkaEventBus(configuration: configuration)) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidConfiguration)
            XCTAssertEqual((error as? EventBusError)?.field, "linger.ms")
        }
    }

    func testBusCreationFailsWhenLibrdkafkaDoesNotKnowAProperty() throws {
        let configuration = try KafkaConfiguration(
            bootstrapServers: ["127.0.0.1:9092"], librdkafkaOptions: ["no.such.property": "1"])
        XCTAssertThrowsError(try KafkaEventBus(configuration: configuration)) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidConfiguration)
        }
    }
}
