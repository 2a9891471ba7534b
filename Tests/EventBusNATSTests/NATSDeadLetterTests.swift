import EventBus
import EventBusNATS
import MetricsTestKit
import XCTest

final class NATSDeadLetterTests: XCTestCase {
    private struct Boom: Error, CustomStringConvertible {
        var description: String { "handler refused the message" }
    }

    private func connect(metrics: TestMetrics? = nil) async throws -> NATSEventBus {
        var configuration = NATSTestEnvironment.configuration(url: try NATSTestEnvironment.requireBroker())
        if let metrics {
            configuration.pool.metricsFactory = metrics
            configuration.pool.metricsDimensions = [("service", "tests")]
        }
        return try await NATSEventBus.connect(configuration)
    }

    func testOversizedDeadLetterIsWrittenTrimmedAndKeyMovesOnWhenMessageIsAtMaxPayload() async throws {
        let bus = try await connect()
        XCTAssertEqual(bus.maxMessageBytes, 1_048_576, "nats-server's default max_payload")
        let topic = NATSTestEnvironment.uniqueTopic()
        let eventID = "big-\(topic)"
        // On the wire: "NATS/1.0\r\n", one "Name: Value\r\n" line each for X-Event-ID, the
        // Nats-Msg-Id the bus adds and X-Key, a blank line, then the payload: exactly max_payload.
        let headerBytes = 10 + (10 + eventID.utf8.count + 4) + (11 + eventID.utf8.count + 4) + (5 + 3 + 4) + 2
        let size = bus.maxMessageBytes - headerBytes
        let attempts = Counter()
        let handled = Recorder<ReceivedMessage>()
        let subscription = try await bus.subscribe(topic: topic, group: "oversized") { message in
            if message.payload.count == size {
                attempts.add()
                throw Boom()
            }
            handled.append(message)
        }
        let letters = Recorder<ReceivedMessage>()
        let deadLetters = try await bus.subscribeDeadLetters(topic: topic, group: "inspect") { letters.append($0) }
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
        try await bus.publish(
            OutgoingMessage(
                topic: topic, key: "big", headers: [MessageHeader(name: "X-Event-ID", value: eventID)], payload: payload
            ))
        try await bus.publish(OutgoingMessage(topic: topic, key: "big", payload: Array("next".utf8)))
        try await NATSTestEnvironment.waitUntil("the dead letter and the key's next message", timeout: .seconds(5)) {
            letters.count >= 1 && handled.count >= 1
        }
        XCTAssertEqual(handled.all.first?.payload, Array("next".utf8))
        XCTAssertEqual(attempts.current, 4)
        let letter = try XCTUnwrap(letters.all.first)
        XCTAssertEqual(letter.key, "big")
        XCTAssertEqual(letter.headers[header: "X-Event-ID"], eventID)
        XCTAssertEqual(letter.headers[header: "X-Payload-Truncated"], "true")
        XCTAssertEqual(letter.headers[header: "X-Original-Payload-Size"], String(size))
        XCTAssertEqual(letter.headers[header: "X-Original-Topic"], topic)
        XCTAssertNotNil(letter.headers[header: "X-Original-Sequence"].flatMap(Int.init))
        XCTAssertLessThan(letter.payload.count, size)
        XCTAssertGreaterThan(letter.payload.count, size - 1_000, "trimmed by the dead-letter headers only")
        XCTAssertEqual(letter.payload, Array(payload.prefix(letter.payload.count)))
        let status = await bus.health().status
        XCTAssertEqual(status, .healthy)
        await deadLetters.close()
        await subscription.close()
        await bus.shutdown()
    }

    func testDuplicateCounterRisesAndHealthCountsItWhenSameEventIDIsPublishedTwice() async throws {
        let metrics = TestMetrics()
        let bus = try await connect(metrics: metrics)
        let topic = NATSTestEnvironment.uniqueTopic()
        let message = OutgoingMessage(
            topic: topic, key: "k", headers: [MessageHeader(name: "X-Event-ID", value: "dup-\(topic)")], payload: [1])
        try await bus.publish(message)
        try await bus.publish(
            OutgoingMessage(
                topic: topic, key: "k", headers: [MessageHeader(name: "X-Event-ID", value: "other-\(topic)")],
                payload: [2]))
        XCTAssertThrowsError(
            try metrics.expectCounter(
                "eventbus_publish_duplicates_total", [("service", "tests"), ("backend", "nats"), ("topic", topic)]),
            "no duplicate yet")
        try await bus.publish(message)
        let counter = try metrics.expectCounter(
            "eventbus_publish_duplicates_total", [("service", "tests"), ("backend", "nats"), ("topic", topic)])
        XCTAssertEqual(counter.totalValue, 1)
        let health = await bus.health()
        XCTAssertEqual(health.details["eventbus.publish.duplicates"], "1")
        await bus.shutdown()
    }

    func testReplayIsHandledWhenRepublishingTheDecodedDeadLetterWasDroppedAsDuplicate() async throws {
        let metrics = TestMetrics()
        let bus = try await connect(metrics: metrics)
        let topic = NATSTestEnvironment.uniqueTopic()
        let fixed = Counter()
        let handled = Recorder<ReceivedMessage>()
        let subscription = try await bus.subscribe(topic: topic, group: "fixable") { message in
            guard fixed.current > 0 else { throw Boom() }
            handled.append(message)
        }
        let letters = Recorder<ReceivedMessage>()
        let deadLetters = try await bus.subscribeDeadLetters(topic: topic, group: "replay") { letters.append($0) }
        let envelope = Envelope(
            aggregateID: "order-1", eventType: "OrderPlaced", eventVersion: 1, payload: Array(#"{"total":12}"#.utf8))
        try await bus.publish(envelope, to: topic)
        try await NATSTestEnvironment.waitUntil("the dead letter") { letters.count >= 1 }
        fixed.add()

        // The naive fix: decode the dead letter and publish the envelope again. JetStream drops it
        // as a duplicate of the original event ID; the bus says so.
        let letter = try XCTUnwrap(letters.all.first)
        try await bus.publish(try EnvelopeCodec.decode(letter.payload), to: topic)
        let duplicates = try metrics.expectCounter(
            "eventbus_publish_duplicates_total", [("service", "tests"), ("backend", "nats"), ("topic", topic)])
        XCTAssertEqual(duplicates.totalValue, 1)

        try await bus.replayDeadLetter(letter)
        try await NATSTestEnvironment.waitUntil("the replay", timeout: .seconds(5)) { handled.count >= 1 }
        let replay = try XCTUnwrap(handled.all.first)
        XCTAssertEqual(replay.headers[header: "X-Event-ID"], envelope.eventID)
        XCTAssertEqual(replay.headers[header: "X-Replay-Of"], envelope.eventID)
        let replayID = try XCTUnwrap(replay.headers[header: "X-Replay-ID"])
        XCTAssertEqual(replay.headers[header: "Nats-Msg-Id"], replayID)
        XCTAssertNil(replay.headers[header: "X-Error"])
        let decoded = try EnvelopeCodec.decode(replay.payload)
        XCTAssertEqual(decoded.eventID, envelope.eventID)
        XCTAssertEqual(decoded.payload, envelope.payload)
        XCTAssertEqual(duplicates.totalValue, 1, "the replay is no duplicate")
        await deadLetters.close()
        await subscription.close()
        await bus.shutdown()
    }
}
