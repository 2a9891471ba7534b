import EventBus
import EventBusNATS
import XCTest

/// Pairs whose consumer names collided before `_` was escaped, against the real server.
final class NATSConsumerNameTests: XCTestCase {
    private func connect() async throws -> NATSEventBus {
        let url = try NATSTestEnvironment.requireBroker()
        return try await NATSEventBus.connect(NATSTestEnvironment.configuration(url: url))
    }

    /// (`T_x`, `y`) and (`T`, `x_y`) were both `eventbus_T_x_y`: the second subscription joined the
    /// first one's consumers, took half of `T_x`'s messages and none of `T`'s.
    func testEachPairReceivesExactlyItsOwnMessagesWhenUnderscoresSplitTheNamesDifferently() async throws {
        let bus = try await connect()
        let base = NATSTestEnvironment.uniqueTopic()
        let (firstTopic, firstGroup) = (base + "_x", "y")
        let (secondTopic, secondGroup) = (base, "x_y")
        let first = Recorder<String>()
        let second = Recorder<String>()
        let firstSubscription = try await bus.subscribe(topic: firstTopic, group: firstGroup) { message in
            first.append(String(decoding: message.payload, as: UTF8.self))
        }
        let secondSubscription = try await bus.subscribe(topic: secondTopic, group: secondGroup) { message in
            second.append(String(decoding: message.payload, as: UTF8.self))
        }
        let count = 40
        let firstSent = (0..<count).map { "first-\($0)" }
        let secondSent = (0..<count).map { "second-\($0)" }
        try await bus.publish(firstSent.map { OutgoingMessage(topic: firstTopic, key: $0, payload: Array($0.utf8)) })
        try await bus.publish(secondSent.map { OutgoingMessage(topic: secondTopic, key: $0, payload: Array($0.utf8)) })
        try await NATSTestEnvironment.waitUntil("\(count) messages on each subscription") {
            Set(first.all).count >= count && Set(second.all).count >= count
        }
        XCTAssertEqual(Set(first.all), Set(firstSent))
        XCTAssertEqual(Set(second.all), Set(secondSent))
        await firstSubscription.close()
        await secondSubscription.close()
        let firstExisted = try await bus.deleteGroup(topic: firstTopic, group: firstGroup)
        let secondExisted = try await bus.deleteGroup(topic: secondTopic, group: secondGroup)
        XCTAssertTrue(firstExisted && secondExisted, "the groups' consumers exist under their own names")
        await bus.shutdown()
    }

    /// Dead-letter readers are named `<prefix>_dlq_<topic>_<group>` with `_` escaped as `~`: the
    /// server (through nats.c) accepts the name and each reader gets its own topic's dead letters.
    func testDeadLetterReadersReceiveTheirOwnLettersWhenGroupsHoldUnderscores() async throws {
        let bus = try await connect()
        let base = NATSTestEnvironment.uniqueTopic()
        let first = Recorder<String>()
        let second = Recorder<String>()
        let firstSubscription = try await bus.subscribe(topic: base + "_x.dlq", group: "y") { message in
            first.append(String(decoding: message.payload, as: UTF8.self))
        }
        let secondSubscription = try await bus.subscribe(topic: base + ".dlq", group: "x_y") { message in
            second.append(String(decoding: message.payload, as: UTF8.self))
        }
        try await bus.publish(OutgoingMessage(topic: base + "_x.dlq", payload: Array("first".utf8)))
        try await bus.publish(OutgoingMessage(topic: base + ".dlq", payload: Array("second".utf8)))
        try await NATSTestEnvironment.waitUntil("a dead letter on each reader") {
            first.all.count >= 1 && second.all.count >= 1
        }
        XCTAssertEqual(first.all, ["first"])
        XCTAssertEqual(second.all, ["second"])
        await firstSubscription.close()
        await secondSubscription.close()
        _ = try await bus.deleteGroup(topic: base + "_x", group: "y")
        _ = try await bus.deleteGroup(topic: base, group: "x_y")
        await bus.shutdown()
    }
}
