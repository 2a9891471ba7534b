import EventBus
import EventBusKafka
import Synchronization
import XCTest

final class KafkaCommitTests: XCTestCase {
    func testNewMemberReceivesExactlyTheUncompletedMessagesWhenConsumerStopsMidStream() async throws {
        try KafkaTestBroker.requireReachable()
        let configuration = try KafkaTestBroker.configuration()
        let bus = try KafkaEventBus(configuration: configuration)
        let topic = KafkaTestBroker.uniqueTopic("commit")
        let group = "g-\(topic)"
        let total = 200
        let stallAt = 80
        // One key: one partition, one actor, so completion order is offset order.
        try await bus.publish(
            (0..<total).map { OutgoingMessage(topic: topic, key: "one", payload: Array(String($0).utf8)) })
        let completedFirst = Collector()
        let stalled = Atomic<Bool>(false)
        let first = try await bus.subscribe(topic: topic, group: group) { message in
            let index = Int(String(decoding: message.payload, as: UTF8.self))!
            if index == stallAt {
                stalled.store(true, ordering: .relaxed)
                // In flight while the subscription closes: close waits for it to return.
                try await Task.sleep(for: .milliseconds(500))
            }
            completedFirst.add(message)
        }
        let reached = await Collector.waitUntil(timeout: .seconds(20)) {
            stalled.load(ordering: .relaxed)
        }
        XCTAssertTrue(reached)
        await first.close()
        let completedIndices = Set(
            completedFirst.messages.map { Int(String(decoding: $0.payload, as: UTF8.self))! })
        XCTAssertEqual(completedIndices, Set(0...stallAt), "the in-flight handler finished on close")

        let second = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: group) { second.add($0) }
        let expected = total - completedIndices.count
        let arrived = await Collector.waitUntil(timeout: .seconds(20)) { second.count >= expected }
        XCTAssertTrue(arrived, "received \(second.count) of \(expected)")
        // Give a duplicate the chance to show up before judging.
        try await Task.sleep(for: .milliseconds(300))
        let secondIndices = second.messages.map { Int(String(decoding: $0.payload, as: UTF8.self))! }
        XCTAssertEqual(secondIndices.count, expected, "no duplicates")
        XCTAssertEqual(Set(secondIndices), Set(0..<total).subtracting(completedIndices))
        await subscription.close()
        await bus.shutdown()
    }
}
