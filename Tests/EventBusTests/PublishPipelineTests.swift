import EventBus
import Synchronization
import XCTest

/// The pieces behind `publishPipelined`: the receipt any number of tasks may await, and the window
/// that bounds unacknowledged pipelined messages.
final class PublishPipelineTests: XCTestCase {
    func testEveryWaiterOfAReceiptLearnsTheFirstFailureOnceTheLastMessageIsSettled() async throws {
        let finished = Mutex<[EventBusError?]>([])
        let completion = PublishCompletion(count: 3) { error in finished.withLock { $0.append(error) } }
        let receipt = PublishReceipt(completion)
        let waiters = (0..<3).map { _ in
            Task { () -> EventBusError? in
                do throws(EventBusError) {
                    try await receipt.acknowledged()
                    return nil
                } catch {
                    return error
                }
            }
        }
        completion.finish(error: EventBusError(.timeout, "first"))
        completion.finish(error: EventBusError(.publishFailed, "second"))
        XCTAssertFalse(receipt.isSettled)
        completion.finish(error: nil)
        XCTAssertTrue(receipt.isSettled)
        for waiter in waiters {
            let error = await waiter.value
            XCTAssertEqual(error?.code, .timeout)
        }
        XCTAssertEqual(finished.withLock { $0.map { $0?.code } }, [.timeout])
        // Settled receipts answer at once, as often as asked.
        do throws(EventBusError) {
            try await receipt.acknowledged()
            XCTFail("the receipt forgot its failure")
        } catch {
            XCTAssertEqual(error.code, .timeout)
        }
    }

    func testACancelledWaiterStopsWaitingWhileOthersGoOnWaiting() async throws {
        let completion = PublishCompletion(count: 1)
        let receipt = PublishReceipt(completion)
        let cancelled = Task { () -> EventBusError.Code? in
            do throws(EventBusError) {
                try await receipt.acknowledged()
                return nil
            } catch {
                return error.code
            }
        }
        let patient = Task { () -> EventBusError.Code? in
            do throws(EventBusError) {
                try await receipt.acknowledged()
                return nil
            } catch {
                return error.code
            }
        }
        cancelled.cancel()
        let code = await cancelled.value
        XCTAssertEqual(code, .cancelled)
        completion.finish(error: nil)
        let patientCode = await patient.value
        XCTAssertNil(patientCode)
    }

    func testASettledReceiptForBackendsThatWaitAnywayNeverThrows() async throws {
        XCTAssertTrue(PublishReceipt.settled.isSettled)
        try await PublishReceipt.settled.acknowledged()
    }

    func testTheWindowAdmitsWaitersInOrderAsRoomIsGivenBack() async throws {
        let window = PublishWindow(limit: 10)
        try await window.acquire(8)
        let admitted = Admissions()
        // Ask for 5 first, then 1: the 1 would fit now but must not overtake the 5.
        let large = Task {
            try await window.acquire(5)
            admitted.values.withLock { $0.append(5) }
        }
        try await waitForWaiters(window, 1)
        let small = Task {
            try await window.acquire(1)
            admitted.values.withLock { $0.append(1) }
        }
        try await waitForWaiters(window, 2)
        XCTAssertEqual(admitted.values.withLock { $0 }, [])
        // Room for 5: the 5 takes all of it. The tasks record their admission when they run,
        // so room for both at once would let the two records land in either order; only one fits.
        window.release(3)
        await waitUntil("the first waiter is admitted") { admitted.values.withLock { !$0.isEmpty } }
        XCTAssertEqual(admitted.values.withLock { $0 }, [5], "the 1 overtook the 5")
        XCTAssertEqual(window.waiting, 1)
        XCTAssertEqual(window.outstanding, 10)
        // Room for the other either way, so neither task is left waiting.
        window.release(5)
        try await large.value
        try await small.value
        XCTAssertEqual(admitted.values.withLock { $0 }, [5, 1])
        XCTAssertEqual(window.outstanding, 6)
    }

    func testACallLargerThanTheWindowGoesAloneOnceNothingIsOutstanding() async throws {
        let window = PublishWindow(limit: 4)
        try await window.acquire(3)
        let huge = Task { try await window.acquire(100) }
        try await waitForWaiters(window, 1)
        window.release(3)
        try await huge.value
        XCTAssertEqual(window.outstanding, 100)
        window.release(100)
        XCTAssertEqual(window.outstanding, 0)
    }

    func testCancellingAWaiterTakesNoRoomAndClosingFailsTheRest() async throws {
        let window = PublishWindow(limit: 1)
        try await window.acquire(1)
        let cancelled = Task { () -> EventBusError.Code? in
            do throws(EventBusError) {
                try await window.acquire(1)
                return nil
            } catch {
                return error.code
            }
        }
        try await waitForWaiters(window, 1)
        cancelled.cancel()
        let cancelledCode = await cancelled.value
        XCTAssertEqual(cancelledCode, .cancelled)
        let closed = Task { () -> EventBusError.Code? in
            do throws(EventBusError) {
                try await window.acquire(1)
                return nil
            } catch {
                return error.code
            }
        }
        try await waitForWaiters(window, 1)
        window.close()
        let closedCode = await closed.value
        XCTAssertEqual(closedCode, .shutDown)
        XCTAssertEqual(window.outstanding, 1)
        do throws(EventBusError) {
            try await window.acquire(1)
            XCTFail("a closed window admitted a call")
        } catch {
            XCTAssertEqual(error.code, .shutDown)
        }
    }

    func testCancellingTheFirstWaiterAdmitsTheWaitersBehindItThatNowFit() async throws {
        let window = PublishWindow(limit: 10)
        try await window.acquire(8)
        let large = Task { () -> EventBusError.Code? in
            do throws(EventBusError) {
                try await window.acquire(5)
                return nil
            } catch {
                return error.code
            }
        }
        try await waitForWaiters(window, 1)
        let small = Task { try await window.acquire(1) }
        try await waitForWaiters(window, 2)
        large.cancel()
        let largeCode = await large.value
        XCTAssertEqual(largeCode, .cancelled)
        // Room for 1 is free and nobody is ahead of it any more: it must not wait for a release.
        try await small.value
        XCTAssertEqual(window.outstanding, 9)
        XCTAssertEqual(window.waiting, 0)
    }

    private final class Admissions: Sendable {
        let values = Mutex<[Int]>([])
    }

    private func waitForWaiters(_ window: PublishWindow, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while window.waiting < count {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            await Task.yield()
        }
    }
}
