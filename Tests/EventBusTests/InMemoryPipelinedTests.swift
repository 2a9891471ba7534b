import EventBus
import Synchronization
import XCTest

/// `publishPipelined` on the in-memory bus: stored before it returns, so receipts come settled;
/// order per key across many tasks; `shutDown` after shutdown.
final class InMemoryPipelinedTests: XCTestCase {
    private final class Arrivals: Sendable {
        private let values = Mutex<[String: [Int]]>([:])
        func append(_ message: ReceivedMessage) {
            let index = Int(String(decoding: message.payload, as: UTF8.self)) ?? -1
            values.withLock { $0[message.key ?? "", default: []].append(index) }
        }
        var all: [String: [Int]] { values.withLock { $0 } }
        var count: Int { values.withLock { $0.values.reduce(0) { $0 + $1.count } } }
    }

    func testPipelinedCallsFromManyTasksArriveCompleteInKeyOrderWithSettledReceipts() async throws {
        var configuration = InMemoryConfiguration()
        // Small partitions: the calls wait for room while the consumer drains.
        configuration.partitionCapacity = 8
        let bus = try InMemoryEventBus(configuration: configuration)
        let arrivals = Arrivals()
        let subscription = try await bus.subscribe(topic: "pipelined", group: "g") { arrivals.append($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for call in 0..<50 {
                        let messages = (0..<5).map {
                            OutgoingMessage(
                                topic: "pipelined", key: "key-\(task)-\(call % 3)",
                                payload: Array(String(call * 5 + $0).utf8))
                        }
                        let receipt = try await bus.publishPipelined(messages)
                        XCTAssertTrue(receipt.isSettled)
                    }
                }
            }
            try await group.waitForAll()
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while arrivals.count < 8 * 50 * 5, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertEqual(arrivals.count, 8 * 50 * 5)
        for (key, seen) in arrivals.all {
            XCTAssertEqual(seen, seen.sorted(), "\(key) out of order")
        }
        await subscription.close()
        await bus.shutdown()
        do {
            _ = try await bus.publishPipelined([OutgoingMessage(topic: "pipelined", key: "k", payload: [1])])
            XCTFail("a pipelined call after shutdown was accepted")
        } catch {
            XCTAssertEqual(error.code, .shutDown)
        }
    }

    func testACallCancelledWhileWaitingForRoomThrowsAndSaysHowManyItStored() async throws {
        var configuration = InMemoryConfiguration()
        configuration.partitionCapacity = 4
        configuration.partitionsPerTopic = 1
        let bus = try InMemoryEventBus(configuration: configuration)
        let arrivals = Arrivals()
        let release = Mutex(false)
        // The handler holds the first message, so the partition fills and the call waits for room.
        let subscription = try await bus.subscribe(topic: "t", group: "g") { message in
            arrivals.append(message)
            while !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        }
        let messages = (0..<20).map { OutgoingMessage(topic: "t", key: "k", payload: Array(String($0).utf8)) }
        let error = await withTaskGroup(of: EventBusError?.self) { group -> EventBusError? in
            group.addTask {
                do throws(EventBusError) {
                    _ = try await bus.publishPipelined(messages)
                    return nil
                } catch {
                    return error
                }
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while arrivals.count == 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
            group.cancelAll()
            return await group.next() ?? nil
        }
        XCTAssertEqual(error?.code, .cancelled)
        XCTAssertTrue(error?.message.contains("of 20 messages were published") ?? false, "\(String(describing: error))")
        release.withLock { $0 = true }
        try await bus.publishPipelined([OutgoingMessage(topic: "t", key: "k", payload: Array("1000".utf8))])
            .acknowledged()
        let deadline = ContinuousClock.now + .seconds(10)
        while arrivals.all["k"]?.last != 1000, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        // What the call stored stays, as the error says; the key's next message follows it.
        let seen = arrivals.all["k"] ?? []
        XCTAssertEqual(seen.last, 1000)
        XCTAssertEqual(Array(seen.dropLast()), Array(0..<(seen.count - 1)))
        await subscription.close()
        await bus.shutdown()
    }
}
