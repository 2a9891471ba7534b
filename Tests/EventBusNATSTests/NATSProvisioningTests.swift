import EventBus
import EventBusNATS
import XCTest

/// Provisioning against a nats-server of the test's own, so "no stream yet" is real and nothing is
/// left on the shared broker.
final class NATSProvisioningTests: XCTestCase {
    private func configuration(_ server: NATSTestServer, retention: NATSConfiguration.StreamSettings.Retention)
        -> NATSConfiguration
    {
        var configuration = NATSTestEnvironment.configuration(url: server.url)
        configuration.stream.retention = retention
        configuration.stream.storage = .memory
        return configuration
    }

    func testForeignPublisherGoesFirstAndTheGroupGetsEverythingWhenTopicAndGroupWereProvisioned() async throws {
        let server = try NATSTestServer()
        let topic = NATSTestEnvironment.uniqueTopic()
        // Interest retention keeps a message only for consumers that exist when it arrives: without
        // the provisioned group consumers every foreign message below would be gone.
        let configuration = configuration(server, retention: .interest)
        let plain = "ebnats.\(topic)"

        let before = try PlainJetStreamPublisher.publish(url: server.url, subject: plain, payloads: [[0]])
        XCTAssertEqual(before, [.noResponders], "a fresh server has no stream for the topic")

        // The deploy step: connect, provision, go away.
        let provisioner = try await NATSEventBus.connect(configuration)
        try await provisioner.provision(topics: [topic], groups: ["billing"])
        try await provisioner.provision(topics: [topic], groups: ["billing"])  // idempotent
        await provisioner.shutdown()

        // Another service publishes first, with JetStream publishes of its own: on the plain subject
        // (a publisher that knows nothing of partitions) and on a partition subject.
        let plainPayloads = (0..<20).map { Array("plain-\($0)".utf8) }
        let partitionPayloads = (0..<10).map { Array("p1-\($0)".utf8) }
        let replies =
            try PlainJetStreamPublisher.publish(url: server.url, subject: plain, payloads: plainPayloads)
            + PlainJetStreamPublisher.publish(url: server.url, subject: plain + ".p.1", payloads: partitionPayloads)
        for reply in replies {
            guard case .pubAck = reply else { return XCTFail("not stored: \(reply)") }
        }

        // Provisioning once more (a redeploy) changes nothing: the group's positions stay.
        let redeploy = try await NATSEventBus.connect(configuration)
        try await redeploy.provision(topics: [topic], groups: ["billing"])
        await redeploy.shutdown()

        let bus = try await NATSEventBus.connect(configuration)
        let received = Recorder<String>()
        let subscription = try await bus.subscribe(topic: topic, group: "billing") { message in
            received.append(String(decoding: message.payload, as: UTF8.self))
        }
        try await NATSTestEnvironment.waitUntil("all 30 foreign messages") { received.count >= 30 }
        let expected = (plainPayloads + partitionPayloads).map { String(decoding: $0, as: UTF8.self) }
        // Nothing lost, nothing twice. No order is asserted: the plain-subject messages carry no key,
        // and a raw subscription spreads keyless messages over its actors (Docs/NATS.md, "Another
        // client publishing"; an envelope subscription would order them by aggregate ID).
        XCTAssertEqual(received.all.sorted(), expected.sorted())
        await subscription.close()
        await bus.shutdown()
    }

    func testProvisionThrowsTopicMismatchWhenTheStreamExistsWithOtherSettings() async throws {
        let server = try NATSTestServer()
        let topic = NATSTestEnvironment.uniqueTopic()
        let first = try await NATSEventBus.connect(configuration(server, retention: .limits))
        try await first.provision(topics: [topic])
        await first.shutdown()

        let other = try await NATSEventBus.connect(configuration(server, retention: .interest))
        do {
            try await other.provision(topics: [topic])
            XCTFail("provisioning an interest stream over a limits stream succeeded")
        } catch {
            XCTAssertEqual(error.code, .topicMismatch, "\(error)")
            XCTAssertEqual(error.field, "stream")
            XCTAssertTrue(error.message.contains("retention limits, not interest"), error.message)
        }
        await other.shutdown()
    }

    func testProvisionThrowsTopicMismatchWhenAGroupHasConsumersForMorePartitions() async throws {
        let server = try NATSTestServer()
        let topic = NATSTestEnvironment.uniqueTopic()
        let three = try await NATSEventBus.connect(configuration(server, retention: .limits))
        try await three.provision(topics: [topic], groups: ["g"])
        await three.shutdown()

        var fewer = configuration(server, retention: .limits)
        fewer.partitionsPerTopic = 2
        let two = try await NATSEventBus.connect(fewer)
        do {
            try await two.provision(topics: [topic], groups: ["g"])
            XCTFail("provisioning 2 partitions over a group with 3 succeeded")
        } catch {
            XCTAssertEqual(error.code, .topicMismatch, "\(error)")
            XCTAssertEqual(error.field, "partitionsPerTopic")
        }
        // The topic alone (no groups) has no partition count on the server to disagree with.
        try await two.provision(topics: [topic])
        await two.shutdown()
    }

    func testProvisionThrowsInvalidArgumentWhenATopicOrGroupIsBad() async throws {
        let url = try NATSTestEnvironment.requireBroker()
        let bus = try await NATSEventBus.connect(NATSTestEnvironment.configuration(url: url))
        for (topics, groups) in [(["a.b"], []), (["ok"], ["bad group"]), ([""], [])] as [([String], [String])] {
            do {
                try await bus.provision(topics: topics, groups: groups)
                XCTFail("provision(\(topics), \(groups)) succeeded")
            } catch {
                XCTAssertEqual(error.code, .invalidArgument, "\(error)")
            }
        }
        await bus.shutdown()
    }
}
