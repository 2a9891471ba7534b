import EventBus
import EventBusKafka
import Synchronization
import XCTest

final class KafkaDeadLetterTests: XCTestCase {
    struct HandlerFailure: Error, CustomStringConvertible {
        var description: String { "handler refused the message" }
    }

    func testFailingMessageGoesToDeadLetterTopicWithOriginHeadersWhenRestartsAreUsedUp() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(
            configuration: KafkaTestBroker.configuration(
                pool: ActorPoolConfiguration(restartBackoff: .milliseconds(1))))
        let topic = KafkaTestBroker.uniqueTopic("deadletter")
        let attempts = Atomic<Int>(0)
        let handled = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            if message.key == "poison" {
                attempts.add(1, ordering: .relaxed)
                throw HandlerFailure()
            }
            handled.add(message)
        }
        let letters = Collector()
        let deadLetterSubscription = try await bus.subscribe(
            topic: topic + ".dlq", group: "g-\(topic)-dlq"
        ) { letters.add($0) }
        try await bus.publish([
            OutgoingMessage(
                topic: topic, key: "poison", headers: [MessageHeader(name: "X-Mine", value: "kept")],
                payload: Array("bad".utf8)),
            OutgoingMessage(topic: topic, key: "fine", payload: Array("good".utf8)),
        ])
        let arrived = await Collector.waitUntil(timeout: .seconds(20)) {
            letters.count >= 1 && handled.count >= 1
        }
        XCTAssertTrue(arrived, "dead letters: \(letters.count), handled: \(handled.count)")
        XCTAssertEqual(attempts.load(ordering: .relaxed), 4, "one attempt plus three restarts")
        let letter = try XCTUnwrap(letters.messages.first)
        XCTAssertEqual(letter.key, "poison")
        XCTAssertEqual(letter.payload, Array("bad".utf8))
        XCTAssertEqual(letter.headers[header: "X-Mine"], "kept")
        XCTAssertEqual(letter.headers[header: "X-Attempts"], "4")
        XCTAssertEqual(letter.headers[header: "X-Original-Topic"], topic)
        XCTAssertNotNil(letter.headers[header: "X-Original-Partition"].flatMap { Int32($0) })
        XCTAssertEqual(letter.headers[header: "X-Original-Offset"], "0")
        XCTAssertTrue(
            letter.headers[header: "X-Error"]?.contains("handler refused the message") ?? false,
            "X-Error: \(letter.headers[header: "X-Error"] ?? "missing")")
        await subscription.close()

        // The dead-lettered offset was committed: a new member of the group gets nothing of it.
        let redelivered = Collector()
        let second = try await bus.subscribe(topic: topic, group: "g-\(topic)") { redelivered.add($0) }
        try await bus.publish(OutgoingMessage(topic: topic, key: "poison-free", payload: [1]))
        let marker = await Collector.waitUntil(timeout: .seconds(20)) {
            redelivered.messages.contains { $0.key == "poison-free" }
        }
        XCTAssertTrue(marker)
        XCTAssertFalse(redelivered.messages.contains { $0.key == "poison" || $0.key == "fine" })
        await second.close()
        await deadLetterSubscription.close()
        await bus.shutdown()
    }
}

extension KafkaDeadLetterTests {
    func testMalformedEnvelopeIsDeadLetteredWithDecodeErrorWhenBytesAreNotJSON() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("malformed")
        let letters = Collector()
        let deadLetters = try await bus.subscribe(topic: topic + ".dlq", group: "g-\(topic)-dlq") {
            letters.add($0)
        }
        let envelopes = EnvelopeCollector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") {
            (envelope: Envelope) in envelopes.add(envelope)
        }
        try await bus.publish(
            OutgoingMessage(topic: topic, key: "broken", payload: Array("{not json".utf8)))
        let arrived = await Collector.waitUntil(timeout: .seconds(20)) { letters.count >= 1 }
        XCTAssertTrue(arrived)
        let letter = try XCTUnwrap(letters.messages.first)
        XCTAssertEqual(letter.payload, Array("{not json".utf8))
        XCTAssertEqual(letter.headers[header: "X-Attempts"], "1", "malformed bytes are not retried")
        XCTAssertTrue(
            letter.headers[header: "X-Error"]?.contains("malformedEnvelope") ?? false,
            "X-Error: \(letter.headers[header: "X-Error"] ?? "missing")")
        XCTAssertEqual(envelopes.count, 0)
        await subscription.close()
        await deadLetters.close()
        await bus.shutdown()
    }
}

extension KafkaDeadLetterTests {
    func testOversizedDeadLetterIsWrittenTrimmedAndKeyMovesOnWhenPayloadIsAtTheLimit() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(
            configuration: KafkaTestBroker.configuration(
                pool: ActorPoolConfiguration(restartBackoff: .milliseconds(1))))
        XCTAssertEqual(bus.maxMessageBytes, 1_000_000, "librdkafka's message.max.bytes default")
        let topic = KafkaTestBroker.uniqueTopic("oversized")
        let key = "big"
        // librdkafka counts 36 bytes of record overhead plus key and value: exactly at the limit.
        let size = bus.maxMessageBytes - 36 - key.utf8.count
        let attempts = Atomic<Int>(0)
        let handled = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            if message.payload.count == size {
                attempts.add(1, ordering: .relaxed)
                throw HandlerFailure()
            }
            handled.add(message)
        }
        let letters = Collector()
        let deadLetters = try await bus.subscribe(topic: topic + ".dlq", group: "g-\(topic)-dlq") { letters.add($0) }
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
        try await bus.publish(OutgoingMessage(topic: topic, key: key, payload: payload))
        try await bus.publish(OutgoingMessage(topic: topic, key: key, payload: Array("next".utf8)))
        let arrived = await Collector.waitUntil(timeout: .seconds(20)) { letters.count >= 1 && handled.count >= 1 }
        XCTAssertTrue(arrived, "dead letters: \(letters.count), handled: \(handled.count)")
        XCTAssertEqual(handled.messages.first?.payload, Array("next".utf8), "the key's next message")
        XCTAssertEqual(attempts.load(ordering: .relaxed), 4)
        let letter = try XCTUnwrap(letters.messages.first)
        XCTAssertEqual(letter.key, key)
        XCTAssertEqual(letter.headers[header: "X-Payload-Truncated"], "true")
        XCTAssertEqual(letter.headers[header: "X-Original-Payload-Size"], String(size))
        XCTAssertEqual(letter.headers[header: "X-Attempts"], "4")
        XCTAssertEqual(letter.headers[header: "X-Original-Topic"], topic)
        XCTAssertLessThan(letter.payload.count, size)
        XCTAssertGreaterThan(letter.payload.count, size - 1_000, "trimmed by the dead-letter headers only")
        XCTAssertEqual(letter.payload, Array(payload.prefix(letter.payload.count)))
        let status = await bus.health().status
        XCTAssertEqual(status, .healthy)
        await subscription.close()
        await deadLetters.close()
        await bus.shutdown()
    }
}
