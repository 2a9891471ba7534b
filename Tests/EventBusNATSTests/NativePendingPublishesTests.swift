import EventBus
import EventBusNATS
import Foundation
import XCTest

/// The in-flight limit and overdue sweep of the PubAck table, without a broker.
final class NativePendingPublishesTests: XCTestCase {
    func testRegisterRefusesAPublishWhenTheLimitIsReachedAndWaitEndsWhenAnAckFreesRoom() async throws {
        let pending = NativePendingPublishes()
        let completion = PublishCompletion(count: 5)
        for id in UInt64(1)...4 {
            XCTAssertTrue(pending.register(id, subject: "s", headers: [], completion, limit: 4))
        }
        XCTAssertFalse(pending.register(5, subject: "s", headers: [], completion, limit: 4))
        XCTAssertEqual(pending.count, 4)
        // Bounded: nothing frees room, so the wait gives up.
        let start = ContinuousClock.now
        XCTAssertFalse(pending.waitUntil(atMost: 3, timeout: .milliseconds(50)))
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - start, .milliseconds(50))
        // A PubAck on another thread wakes the waiter.
        let acker = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            pending.remove(2)?.completion.finish(error: nil)
        }
        acker.start()
        var freed = false
        let deadline = ContinuousClock.now + .seconds(10)
        while !freed, ContinuousClock.now < deadline { freed = pending.waitUntil(atMost: 3, timeout: .seconds(10)) }
        XCTAssertTrue(freed)
        XCTAssertTrue(pending.register(5, subject: "s", headers: [], completion, limit: 4))
        XCTAssertNil(pending.remove(2), "an entry settles once")
        pending.failAll(EventBusError(.shutDown, "test", isRetriable: true))
        let error = await completion.wait()
        XCTAssertEqual(error?.code, .shutDown)
        XCTAssertEqual(pending.count, 0)
    }

    func testSweepFailsOnlyPublishesOlderThanTheAckTimeout() async throws {
        let pending = NativePendingPublishes()
        let old = PublishCompletion(count: 1)
        let young = PublishCompletion(count: 1)
        XCTAssertTrue(pending.register(1, subject: "s", headers: [], old, limit: 8))
        try await Task.sleep(for: .milliseconds(60))
        XCTAssertTrue(pending.register(2, subject: "s", headers: [], young, limit: 8))
        let overdue = pending.removeOverdue(.milliseconds(40))
        XCTAssertEqual(overdue.count, 1)
        XCTAssertTrue(overdue.first === old)
        XCTAssertNotNil(pending.remove(2))
        XCTAssertTrue(pending.removeOverdue(.zero).isEmpty)
    }
}
