import EventBus
import EventBusKafka
import Synchronization
import XCTest

final class KafkaRebalanceTests: XCTestCase {
    /// What one consumer saw: (assignment generation, key, sequence) per message.
    final class Seen: Sendable {
        private let entries = Mutex<[(tag: UInt64, key: String, sequence: Int)]>([])
        func add(_ message: ReceivedMessage) {
            let sequence = Int(String(decoding: message.payload, as: UTF8.self))!
            entries.withLock { $0.append((message.deliveryTag, message.key!, sequence)) }
        }
        var all: [(tag: UInt64, key: String, sequence: Int)] { entries.withLock { $0 } }
        var count: Int { entries.withLock { $0.count } }
    }

    func testEveryMessageIsHandledInKeyOrderWhenSecondConsumerJoinsAndLeavesMidStream() async throws {
        try KafkaTestBroker.requireReachable()
        let configuration = try KafkaTestBroker.configuration()
        let publisherBus = try KafkaEventBus(configuration: configuration)
        let busA = try KafkaEventBus(configuration: configuration)
        let busB = try KafkaEventBus(configuration: configuration)
        let topic = KafkaTestBroker.uniqueTopic("rebalance")
        let group = "g-\(topic)"
        let total = 50_000
        let keys = 100
        let seenA = Seen()
        let seenB = Seen()
        let subscriptionA = try await busA.subscribe(topic: topic, group: group) { seenA.add($0) }

        // Publish paced over several seconds so the rebalances happen mid-stream.
        let publisher = Task {
            var sequence = 0
            while sequence < total / keys {
                var chunk: [OutgoingMessage] = []
                for _ in 0..<5 {
                    for key in 0..<keys {
                        chunk.append(
                            OutgoingMessage(
                                topic: topic, key: "agg-\(key)", payload: Array(String(sequence).utf8)))
                    }
                    sequence += 1
                }
                try await publisherBus.publish(chunk)
                try await Task.sleep(for: .milliseconds(60))
            }
        }
        let started = await Collector.waitUntil(timeout: .seconds(20)) { seenA.count > 5_000 }
        XCTAssertTrue(started)
        let subscriptionB = try await busB.subscribe(topic: topic, group: group) { seenB.add($0) }
        let bWorked = await Collector.waitUntil(timeout: .seconds(30)) { seenB.count > 2_000 }
        XCTAssertTrue(bWorked, "B handled \(seenB.count)")
        await subscriptionB.close()
        try await publisher.value

        let everything = await Collector.waitUntil(timeout: .seconds(60)) {
            Set(seenA.all.map { "\($0.key):\($0.sequence)" }).union(
                seenB.all.map { "\($0.key):\($0.sequence)" }
            ).count >= total
        }
        XCTAssertTrue(everything, "A: \(seenA.count), B: \(seenB.count)")
        await subscriptionA.close()

        var violations = 0
        for seen in [seenA, seenB] {
            var last: [String: Int] = [:]
            for entry in seen.all {
                let slot = "\(entry.tag)/\(entry.key)"
                if let previous = last[slot], previous >= entry.sequence { violations += 1 }
                last[slot] = entry.sequence
            }
        }
        let handled = seenA.count + seenB.count
        let unique = Set(seenA.all.map { "\($0.key):\($0.sequence)" }).union(
            seenB.all.map { "\($0.key):\($0.sequence)" }
        ).count
        print(
            "rebalance run: \(total) published, A handled \(seenA.count), B handled \(seenB.count), duplicates \(handled - unique), order violations \(violations)"
        )
        XCTAssertEqual(unique, total)
        XCTAssertEqual(violations, 0)
        XCTAssertGreaterThan(seenB.count, 0)
        await publisherBus.shutdown()
        await busA.shutdown()
        await busB.shutdown()
    }
}
