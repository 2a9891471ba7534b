import EventBus
import EventBusKafka
import Synchronization
import XCTest

/// Fetched messages stay in librdkafka's buffers and are read when a handler asks
/// (`RDKafkaFetchedBatch`): what a handler keeps must read as published from any task, before and
/// after the subscription closed, and a dead letter must carry its content out of those buffers.
final class KafkaOnDemandContentTests: XCTestCase {
    private struct Published: Sendable {
        var key: String
        var headers: [MessageHeader]
        var payload: [UInt8]
    }

    private func published(topic: String, count: Int) -> [Published] {
        (0..<count).map { index in
            // Every third message without headers: librdkafka takes another path for those.
            let headers =
                index % 3 == 0
                ? []
                : [MessageHeader(name: "X-Index", value: String(index)), MessageHeader(name: "X-Extra", value: "e")]
            return Published(key: "agg-\(index % 5)", headers: headers, payload: Array("payload-\(index)".utf8))
        }
    }

    /// Reads every kept message's payload and headers from 8 tasks at once and returns the
    /// mismatches against what was published (empty when all read as published).
    private func concurrentMismatches(_ kept: [ReceivedMessage], against sent: [Published]) async -> [String] {
        await withTaskGroup(of: [String].self) { group in
            for reader in 0..<8 {
                group.addTask {
                    var mismatches: [String] = []
                    for round in 0..<4 {
                        for (position, message) in kept.enumerated() where (position + round + reader) % 2 == 0 {
                            guard let index = Int(String(decoding: message.payload.dropFirst(8), as: UTF8.self)),
                                sent.indices.contains(index)
                            else {
                                mismatches.append("unreadable payload \(message.payload)")
                                continue
                            }
                            let expected = sent[index]
                            if message.headers != expected.headers {
                                mismatches.append("message \(index): headers \(message.headers)")
                            }
                            let bytes = message.withPayloadBytes { Array($0) }
                            if bytes != expected.payload || message.key != expected.key {
                                mismatches.append("message \(index): payload \(bytes), key \(message.key ?? "nil")")
                            }
                        }
                    }
                    return mismatches
                }
            }
            var all: [String] = []
            for await mismatches in group { all += mismatches }
            return all
        }
    }

    func testKeptMessagesReadAsPublishedFromManyTasksWhenReadDuringAndAfterTheSubscription() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("ondemand")
        let sent = published(topic: topic, count: 300)
        let collector = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { collector.add($0) }
        try await bus.publish(
            sent.map { OutgoingMessage(topic: topic, key: $0.key, headers: $0.headers, payload: $0.payload) })
        let arrived = await Collector.waitUntil(timeout: .seconds(20)) { collector.count >= sent.count }
        XCTAssertTrue(arrived, "only \(collector.count) of \(sent.count) messages arrived")
        let kept = collector.messages
        XCTAssertEqual(kept.count, sent.count)
        XCTAssertTrue(
            kept.allSatisfy { $0.deferredContent != nil },
            "the handler was given messages whose content was copied out before it ran")
        // While the subscription runs, the content is still in librdkafka's buffers.
        let during = await concurrentMismatches(kept, against: sent)
        XCTAssertEqual(during, [], "\(during.count) mismatches while subscribed")

        // Closing must not wait for the kept messages (it moves their content out of librdkafka
        // before destroying the consumer; waiting for them would take its 10 s limit and leak the
        // handle), and they must read the same afterwards.
        let clock = ContinuousClock()
        let closeStart = clock.now
        await subscription.close()
        let closeTook = clock.now - closeStart
        await bus.shutdown()
        XCTAssertLessThan(closeTook, .seconds(8), "the close waited for messages a handler kept")
        let after = await concurrentMismatches(kept, against: sent)
        XCTAssertEqual(after, [], "\(after.count) mismatches after the consumer was closed")
    }

    func testDeadLetterCarriesItsContentOutWhenTheMessageWasReadOnDemand() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("ondemand-letter")
        let letters = LetterBox()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            letters.add(DeadLetter(message: message, error: CancellationError(), attempts: 1))
        }
        try await bus.publish([
            OutgoingMessage(
                topic: topic, key: "k", headers: [MessageHeader(name: "X-Mine", value: "kept")],
                payload: Array("with headers".utf8)),
            OutgoingMessage(topic: topic, key: "k", payload: Array("without".utf8)),
        ])
        let arrived = await Collector.waitUntil(timeout: .seconds(20)) { letters.count >= 2 }
        XCTAssertTrue(arrived, "only \(letters.count) of 2 messages arrived")
        await subscription.close()
        await bus.shutdown()
        let all = letters.all
        XCTAssertTrue(all.allSatisfy { $0.message.deferredContent == nil }, "a dead letter still refers to the fetch")
        XCTAssertEqual(all.map(\.message.payload), [Array("with headers".utf8), Array("without".utf8)])
        XCTAssertEqual(all.map(\.message.headers), [[MessageHeader(name: "X-Mine", value: "kept")], []])
    }
}

/// Dead letters a handler made, in order.
private final class LetterBox: Sendable {
    private let letters = Mutex<[DeadLetter]>([])

    func add(_ letter: DeadLetter) { letters.withLock { $0.append(letter) } }

    var all: [DeadLetter] { letters.withLock { $0 } }
    var count: Int { letters.withLock { $0.count } }
}
