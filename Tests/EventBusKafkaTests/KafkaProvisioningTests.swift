import EventBus
import EventBusKafka
import Foundation
import XCTest

final class KafkaProvisioningTests: XCTestCase {
    override func setUp() async throws {
        try KafkaTestBroker.requireReachable()
    }

    /// The partition count the cluster's metadata gives for `topic` (kcat, metadata over all topics,
    /// which never auto-creates one); nil when the cluster does not know it.
    private func partitions(of topic: String) throws -> Int? {
        let json = try Kcat.run(["-L", "-J"])
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let topics = object?["topics"] as? [[String: Any]] ?? []
        return (topics.first { $0["topic"] as? String == topic }?["partitions"] as? [Any])?.count
    }

    func testForeignProducerPublishesFirstIntoProvisionedPartitionsWhenTopicWasProvisioned() async throws {
        let topic = KafkaTestBroker.uniqueTopic("provisioned")
        // 5, not Tansu's auto-create default of 4: the layout can only come from provisioning.
        let provisioner = try KafkaEventBus(configuration: KafkaTestBroker.configuration(quiet: true))
        XCTAssertNil(try partitions(of: topic))
        try await provisioner.provision(topics: [topic], partitions: 5, replicationFactor: 1)
        XCTAssertEqual(try partitions(of: topic), 5)
        XCTAssertEqual(try partitions(of: topic + ".dlq"), 5)
        await provisioner.shutdown()

        // Another service publishes first, with a plain Kafka client and no EventBus code.
        let lines = (0..<60).map { "key\($0 % 20):m\($0)" }
        try Kcat.run(["-P", "-t", topic, "-K", ":"], input: lines.joined(separator: "\n") + "\n")

        // Provisioning again succeeds and changes nothing: same layout, every message still there.
        let again = try KafkaEventBus(configuration: KafkaTestBroker.configuration(quiet: true))
        try await again.provision(topics: [topic], partitions: 5, replicationFactor: 1)
        XCTAssertEqual(try partitions(of: topic), 5)
        await again.shutdown()

        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let collector = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "late-group") { collector.add($0) }
        let complete = await Collector.waitUntil(timeout: .seconds(30)) { collector.count >= 60 }
        XCTAssertTrue(complete, "received \(collector.count) of 60")
        let received = collector.messages
        XCTAssertEqual(received.count, 60)
        XCTAssertEqual(
            Set(received.map { String(decoding: $0.payload, as: UTF8.self) }), Set((0..<60).map { "m\($0)" }))
        XCTAssertEqual(Set(received.map(\.partition)).count, 5, "20 keys over 5 partitions use all of them")
        // Per key, the order the foreign producer wrote.
        for key in (0..<20).map({ "key\($0)" }) {
            let payloads = received.filter { $0.key == key }.map { String(decoding: $0.payload, as: UTF8.self) }
            XCTAssertEqual(
                payloads, lines.filter { $0.hasPrefix(key + ":") }.map { String($0.dropFirst(key.count + 1)) })
        }
        await subscription.close()
        await bus.shutdown()
    }

    func testProvisionThrowsTopicMismatchWhenTheTopicHasAnotherPartitionCount() async throws {
        let topic = KafkaTestBroker.uniqueTopic("mismatch")
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration(quiet: true))
        try await bus.provision(topics: [topic], partitions: 2, replicationFactor: 1)
        do {
            try await bus.provision(topics: [topic], partitions: 4, replicationFactor: 1)
            XCTFail("provisioning 4 partitions over 2 succeeded")
        } catch {
            XCTAssertEqual(error.code, .topicMismatch, "\(error)")
            XCTAssertEqual(error.field, "partitions")
            XCTAssertTrue(
                error.message.contains("2 partitions") && error.message.contains("4 were asked"), error.message)
        }
        XCTAssertEqual(try partitions(of: topic), 2, "a mismatch must not change the topic")
        do {
            try await bus.provision(topics: [topic], partitions: 2, replicationFactor: 3)
            XCTFail("provisioning replication factor 3 over 1 succeeded")
        } catch {
            XCTAssertEqual(error.code, .topicMismatch, "\(error)")
            XCTAssertEqual(error.field, "replicationFactor")
        }
        await bus.shutdown()
    }

    func testProvisionUsesTheConfiguredLayoutWhenCalledThroughTheProtocol() async throws {
        let topic = KafkaTestBroker.uniqueTopic("configured")
        let bus: any EventBus = try KafkaEventBus(
            configuration: KafkaTestBroker.configuration(quiet: true) { $0.topics.partitions = 2 })
        try await bus.provision(topics: [topic])
        XCTAssertEqual(try partitions(of: topic), 2)
        XCTAssertEqual(try partitions(of: topic + ".dlq"), 2)
        await bus.shutdown()
    }

    func testProvisionThrowsInvalidArgumentBeforeAnyBrokerCallWhenANameOrCountIsBad() async throws {
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration(brokers: "127.0.0.1:1", quiet: true))
        for (topics, partitions) in [(["has.dot"], 3), (["ok"], 0), ([""], 3)] {
            do {
                try await bus.provision(topics: topics, partitions: partitions, replicationFactor: 1)
                XCTFail("provision(\(topics), \(partitions)) succeeded")
            } catch {
                XCTAssertEqual(error.code, .invalidArgument, "\(error)")
            }
        }
        await bus.shutdown()
    }
}
