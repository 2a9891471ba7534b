import EventBus
import EventBusKafka
import XCTest

final class KafkaEventBusRoundTripTests: XCTestCase {
    func testMessagesArriveWithKeyHeadersAndPayloadWhenPublishedAndSubscribed() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("roundtrip")
        let collector = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            collector.add(message)
        }
        var messages: [OutgoingMessage] = []
        for index in 0..<100 {
            messages.append(
                OutgoingMessage(
                    topic: topic, key: "agg-\(index % 7)",
                    headers: [MessageHeader(name: "X-Index", value: String(index))],
                    payload: Array("payload-\(index)".utf8)))
        }
        try await bus.publish(messages)
        let arrived = await Collector.waitUntil(timeout: .seconds(20)) { collector.count >= 100 }
        XCTAssertTrue(arrived, "only \(collector.count) of 100 messages arrived")
        let received = collector.messages
        XCTAssertEqual(Set(received.map { $0.headers[header: "X-Index"] ?? "" }).count, 100)
        for message in received {
            let index = Int(message.headers[header: "X-Index"] ?? "-1")!
            XCTAssertEqual(message.key, "agg-\(index % 7)")
            XCTAssertEqual(message.payload, Array("payload-\(index)".utf8))
            XCTAssertEqual(message.topic, topic)
        }
        // Per-key order: indices of one key arrive increasing.
        var lastIndex: [String: Int] = [:]
        for message in received {
            let index = Int(message.headers[header: "X-Index"]!)!
            if let previous = lastIndex[message.key!] { XCTAssertLessThan(previous, index) }
            lastIndex[message.key!] = index
        }
        await subscription.close()
        await bus.shutdown()
    }
}
