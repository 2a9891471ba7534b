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
}
