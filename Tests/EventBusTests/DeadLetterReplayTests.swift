import EventBus
import XCTest

final class DeadLetterReplayTests: XCTestCase {
    func testReplayMessageDropsDeadLetterHeadersAndKeepsEventIDWhenGivenADeadLetter() throws {
        let dead = ReceivedMessage(
            topic: "orders.dlq", key: "order-1",
            headers: [
                MessageHeader(name: "X-Event-ID", value: "evt-7"), MessageHeader(name: "X-Mine", value: "kept"),
                MessageHeader(name: "Nats-Msg-Id", value: "evt-7"), MessageHeader(name: "X-Error", value: "boom"),
                MessageHeader(name: "X-Attempts", value: "4"), MessageHeader(name: "X-Original-Topic", value: "orders"),
                MessageHeader(name: "X-Original-Partition", value: "1"),
                MessageHeader(name: "X-Original-Offset", value: "9"),
                MessageHeader(name: "X-Original-Subject", value: "eventbus.orders.p.1"),
            ],
            payload: [1, 2, 3])
        let replay = try DeadLetter.replayMessage(of: dead)
        XCTAssertEqual(replay.topic, "orders")
        XCTAssertEqual(replay.key, "order-1")
        XCTAssertEqual(replay.payload, [1, 2, 3])
        XCTAssertEqual(replay.headers.map(\.name), ["X-Event-ID", "X-Mine", "X-Replay-Of", "X-Replay-ID"])
        XCTAssertEqual(replay.headers[header: "X-Event-ID"], "evt-7")
        XCTAssertEqual(replay.headers[header: "X-Replay-Of"], "evt-7")
        let again = try DeadLetter.replayMessage(of: dead)
        XCTAssertNotEqual(replay.headers[header: "X-Replay-ID"], again.headers[header: "X-Replay-ID"])
        XCTAssertEqual(try DeadLetter.replayMessage(of: dead, to: "orders-v2").topic, "orders-v2")
    }

    func testReplayThrowsInvalidArgumentWhenMessageIsNoDeadLetterOrWasTruncated() {
        XCTAssertThrowsError(try DeadLetter.replayMessage(of: ReceivedMessage(topic: "orders", payload: [1]))) {
            XCTAssertEqual(($0 as? EventBusError)?.field, "topic")
        }
        let truncated = ReceivedMessage(
            topic: "orders.dlq",
            headers: [
                MessageHeader(name: "X-Original-Topic", value: "orders"),
                MessageHeader(name: "X-Payload-Truncated", value: "true"),
                MessageHeader(name: "X-Original-Payload-Size", value: "2000000"),
            ],
            payload: [1])
        XCTAssertThrowsError(try DeadLetter.replayMessage(of: truncated)) { error in
            XCTAssertEqual((error as? EventBusError)?.field, "payload")
            XCTAssertTrue((error as? EventBusError)?.message.contains("2000000") ?? false, "\(error)")
        }
    }
}
