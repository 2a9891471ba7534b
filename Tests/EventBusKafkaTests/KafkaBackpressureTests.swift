import EventBus
import EventBusKafka
import Synchronization
import XCTest

final class KafkaBackpressureTests: XCTestCase {
    func testEveryMessageIsHandledInKeyOrderWhenThePoolIsMuchSmallerThanTheBacklog() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(
            configuration: KafkaTestBroker.configuration(
                pool: ActorPoolConfiguration(actorCount: 4, inboxCapacity: 8)))
        let topic = KafkaTestBroker.uniqueTopic("backpressure")
        let total = 5000
        try await bus.publish(
            (0..<total).map {
                OutgoingMessage(topic: topic, key: "k\($0 % 13)", payload: Array(String($0).utf8))
            })
        let collector = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            collector.add(message)
            if collector.count % 500 == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        let arrived = await Collector.waitUntil(timeout: .seconds(60)) { collector.count >= total }
        XCTAssertTrue(arrived, "handled \(collector.count) of \(total)")
        var last: [String: Int] = [:]
        var violations = 0
        for message in collector.messages {
            let index = Int(String(decoding: message.payload, as: UTF8.self))!
            if let previous = last[message.key!], previous >= index { violations += 1 }
            last[message.key!] = index
        }
        XCTAssertEqual(violations, 0)
        XCTAssertEqual(Set(collector.messages.map(\.payload)).count, total)
        await subscription.close()
        await bus.shutdown()
    }
}
