import EventBus
import Synchronization
import XCTest

/// A backend side that records when its two steps ran.
private final class RecordingIntake: SubscriptionIntake {
    let events = Recorder<[String]>([])
    let running: Recorder<Int>

    init(running: Recorder<Int>) { self.running = running }

    func stopIntake() { events.update { $0.append("stop intake") } }

    func release() async {
        // Runs only once every handler has returned.
        events.update { $0.append("release with \(running.value) handlers running") }
    }
}

final class SubscriptionRuntimeTests: XCTestCase {
    private func makeRuntime(handler: @escaping MessageHandler) throws -> SubscriptionRuntime {
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(actorCount: 2), makeHandler: { handler }, deadLetterSink: { _ in },
            onOutcomes: { _ in })
        return SubscriptionRuntime(pool: pool)
    }

    func testCloseRunsStopThenReleaseAfterHandlersReturnedWhenHandlerIsRunning() async throws {
        let running = Recorder(0)
        let release = Recorder(false)
        let runtime = try makeRuntime { _ in
            running.update { $0 += 1 }
            while !release.value { try await Task.sleep(for: .milliseconds(1)) }
            running.update { $0 -= 1 }
        }
        let intake = RecordingIntake(running: running)
        let closedCalls = Recorder(0)
        await runtime.start(intake: intake, onClosed: { closedCalls.update { $0 += 1 } })
        try await runtime.pool.submit(message(key: "k", "x"))
        await waitUntil("the handler runs") { running.value == 1 }
        let closing = Task { await runtime.close() }
        await waitUntil("the intake is stopped") { intake.events.value == ["stop intake"] }
        XCTAssertFalse(runtime.isClosed, "a running handler keeps the subscription open")
        release.update { $0 = true }
        await closing.value
        XCTAssertTrue(runtime.isClosed)
        XCTAssertEqual(intake.events.value, ["stop intake", "release with 0 handlers running"])
        await runtime.close()
        XCTAssertEqual(closedCalls.value, 1, "onClosed runs once however often close is called")
    }

    func testCloseFromInsideAHandlerReturnsAtOnceAndCompletesAfterTheHandler() async throws {
        let box = Recorder<SubscriptionRuntime?>(nil)
        let closedInside = Recorder(false)
        let handlerDone = Recorder(false)
        let runtime = try makeRuntime { _ in
            await box.value?.close()
            closedInside.update { $0 = true }
            handlerDone.update { $0 = true }
        }
        box.update { $0 = runtime }
        let intake = RecordingIntake(running: Recorder(0))
        await runtime.start(intake: intake)
        try await runtime.pool.submit(message(key: "k", "x"))
        await waitUntil("close() inside the handler returned") { closedInside.value }
        await waitUntil("the subscription closed after the handler") { runtime.isClosed }
        XCTAssertTrue(handlerDone.value)
        XCTAssertEqual(intake.events.value.count, 2)
    }

    func testCloseBeforeStartClosesWithoutRunningAnything() async throws {
        let runtime = try makeRuntime { _ in }
        await runtime.close()
        XCTAssertTrue(runtime.isClosed)
    }

    func testConcurrentClosesAllReturnWhenClosed() async throws {
        let runtime = try makeRuntime { _ in }
        let intake = RecordingIntake(running: Recorder(0))
        await runtime.start(intake: intake)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { await runtime.close() } }
        }
        XCTAssertTrue(runtime.isClosed)
        XCTAssertEqual(intake.events.value.filter { $0 == "stop intake" }.count, 1)
    }
}
