import EventBus
import Synchronization
import XCTest

final class InMemoryProvisioningTests: XCTestCase {
    func testProvisionIsIdempotentAndKeepsMessagesWhenCalledTwice() async throws {
        let bus: any EventBus = try InMemoryEventBus()
        try await bus.provision(topics: ["orders"])
        try await bus.publish((0..<10).map { OutgoingMessage(topic: "orders", key: "k", payload: [UInt8($0)]) })
        try await bus.provision(topics: ["orders"])
        let received = ReceivedPayloads()
        let subscription = try await bus.subscribe(topic: "orders", group: "late") { received.add($0.payload) }
        let deadline = ContinuousClock.now + .seconds(5)
        while received.all.count < 10, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(received.all, (0..<10).map { [UInt8($0)] })
        await subscription.close()
        await bus.shutdown()
    }

    func testProvisionThrowsInvalidArgumentWhenATopicIsBad() async throws {
        let bus = try InMemoryEventBus()
        do {
            try await bus.provision(topics: ["ok", "has.dot"])
            XCTFail("provisioning 'has.dot' succeeded")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertEqual(error.field, "topic")
        }
        await bus.shutdown()
    }
}

private final class ReceivedPayloads: Sendable {
    private let payloads = Mutex<[[UInt8]]>([])
    func add(_ payload: [UInt8]) { payloads.withLock { $0.append(payload) } }
    var all: [[UInt8]] { payloads.withLock { $0 } }
}
