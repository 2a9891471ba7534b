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
        let configuration = KafkaConfiguration(bootstrapServers: ["127.0.0.1:9092"])
        XCTAssertNoThrow(try configuration.validate())
        XCTAssertEqual(configuration.producer.acks, .all)
        XCTAssertTrue(configuration.producer.idempotent)
        XCTAssertEqual(configuration.topics.partitions, 3)
        XCTAssertEqual(configuration.topics.deadLetterTopic(for: "orders"), "orders.dlq")
    }

    func testValidationFailsWhenNoBrokerGiven() {
        assertInvalid(field: "bootstrapServers") { try KafkaConfiguration(bootstrapServers: []).validate() }
    }

    func testValidationFailsWhenBrokerIsNotHostAndPort() {
        assertInvalid(field: "bootstrapServers") {
            try KafkaConfiguration(bootstrapServers: ["localhost"]).validate()
        }
        assertInvalid(field: "bootstrapServers") {
            try KafkaConfiguration(bootstrapServers: ["localhost:99999"]).validate()
        }
    }

    func testValidationFailsWhenIdempotentProducerDoesNotWaitForAllReplicas() {
        assertInvalid(field: "producer.acks") {
            try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], producer: KafkaProducerOptions(acks: .leader)
            ).validate()
        }
    }

    func testValidationFailsWhenHeartbeatIsNotBelowSessionTimeout() {
        assertInvalid(field: "consumer.heartbeatInterval") {
            try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"],
                consumer: KafkaConsumerOptions(
                    sessionTimeout: .seconds(3), heartbeatInterval: .seconds(3))
            ).validate()
        }
    }

    func testValidationFailsWhenTopicOptionsAreOutOfRange() {
        assertInvalid(field: "topics.partitions") {
            try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], topics: KafkaTopicOptions(partitions: 0)
            ).validate()
        }
        assertInvalid(field: "topics.deadLetterSuffix") {
            try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], topics: KafkaTopicOptions(deadLetterSuffix: "")
            ).validate()
        }
    }

    func testValidationFailsWhenPassthroughOverridesManualCommits() {
        assertInvalid(field: "librdkafkaOptions") {
            try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"],
                librdkafkaOptions: ["enable.auto.commit": "true"]
            ).validate()
        }
    }

    func testValidationFailsWhenPoolSettingsAreInvalid() {
        assertInvalid(field: "actorCount") {
            try KafkaConfiguration(
                bootstrapServers: ["127.0.0.1:9092"], pool: ActorPoolConfiguration(actorCount: 0)
            ).validate()
        }
    }

    /// `connect` is the construction every backend shares; it validates first, so a bad setting
    /// fails there with the same error as ``KafkaConfiguration/validate()``.
    func testConnectRefusesAnInvalidConfiguration() async {
        do {
            _ = try await KafkaEventBus.connect(KafkaConfiguration(bootstrapServers: ["localhost"]))
            XCTFail("connect should refuse a broker address without a port")
        } catch {
            XCTAssertEqual(error.code, .invalidConfiguration)
            XCTAssertEqual(error.field, "bootstrapServers")
        }
    }

    func testBusCreationFailsWhenLibrdkafkaRejectsAPassthroughValue() throws {
        let configuration = KafkaConfiguration(
            bootstrapServers: ["127.0.0.1:9092"], librdkafkaOptions: ["linger.ms": "not-a-number"])
        XCTAssertThrowsError(try KafkaEventBus(configuration: configuration)) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidConfiguration)
            XCTAssertEqual((error as? EventBusError)?.field, "linger.ms")
        }
    }

    func testBusCreationFailsWhenLibrdkafkaDoesNotKnowAProperty() throws {
        let configuration = KafkaConfiguration(
            bootstrapServers: ["127.0.0.1:9092"], librdkafkaOptions: ["no.such.property": "1"])
        XCTAssertThrowsError(try KafkaEventBus(configuration: configuration)) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidConfiguration)
        }
    }
}
