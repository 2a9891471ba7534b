import EventBus
import MetricsTestKit
import XCTest

final class DeadLetterPolicyTests: XCTestCase {
    /// Size as NATS counts it, simplified: header names and values plus 4 bytes each, plus payload.
    private static func size(_ message: OutgoingMessage) -> Int? {
        message.headers.reduce(message.payload.count) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
    }

    private func letter(payload: Int, headers: [MessageHeader] = []) -> OutgoingMessage {
        DeadLetter(
            message: ReceivedMessage(
                topic: "orders", key: "k", headers: headers, payload: Array(repeating: 0x61, count: payload),
                partition: 2, offset: 41),
            error: InjectedFailure(description: "failed"), attempts: 4
        ).outgoingMessage(topic: "orders.dlq")
    }

    func testLetterIsUnchangedWhenItFits() {
        let full = letter(payload: 100)
        let fitted = DeadLetter.fitted(full, limit: Self.size(full)!, size: Self.size)
        XCTAssertEqual(fitted?.payload.count, 100)
        XCTAssertEqual(fitted?.headers, full.headers)
    }

    func testPayloadIsCutToFillTheLimitWithMarkersWhenLetterIsTooLarge() throws {
        let full = letter(payload: 10_000, headers: [MessageHeader(name: "X-Mine", value: "kept")])
        let fitted = try XCTUnwrap(DeadLetter.fitted(full, limit: 5_000, size: Self.size))
        XCTAssertEqual(Self.size(fitted), 5_000, "the largest prefix that fits")
        XCTAssertEqual(fitted.payload, Array(full.payload.prefix(fitted.payload.count)))
        XCTAssertEqual(fitted.headers[header: DeadLetter.Header.payloadTruncated], "true")
        XCTAssertEqual(fitted.headers[header: DeadLetter.Header.originalPayloadSize], "10000")
        XCTAssertEqual(fitted.headers[header: "X-Mine"], "kept")
        XCTAssertEqual(fitted.headers[header: DeadLetter.Header.originalOffset], "41")
        XCTAssertNil(fitted.headers[header: DeadLetter.Header.originalHeadersDropped])
    }

    func testOwnHeadersAreDroppedAndErrorShortenedWhenEvenAnEmptyPayloadDoesNotFit() throws {
        let big = String(repeating: "h", count: 4_000)
        let full = DeadLetter(
            message: ReceivedMessage(
                topic: "orders", key: "k",
                headers: [
                    MessageHeader(name: "X-Event-ID", value: "evt-1"), MessageHeader(name: "X-Big", value: big),
                    MessageHeader(name: "X-Small", value: "s"),
                ],
                payload: Array(repeating: 1, count: 500)),
            error: InjectedFailure(description: String(repeating: "e", count: 3_000)), attempts: 1
        ).outgoingMessage(topic: "orders.dlq")
        let fitted = try XCTUnwrap(DeadLetter.fitted(full, limit: 2_000, size: Self.size))
        XCTAssertLessThanOrEqual(Self.size(fitted)!, 2_000)
        XCTAssertNil(fitted.headers[header: "X-Big"])
        XCTAssertNil(fitted.headers[header: "X-Small"])
        XCTAssertEqual(fitted.headers[header: "X-Event-ID"], "evt-1")
        XCTAssertEqual(fitted.headers[header: DeadLetter.Header.originalHeadersDropped], "2")
        XCTAssertEqual(fitted.headers[header: DeadLetter.Header.error]?.utf8.count, 1_024)
        XCTAssertEqual(fitted.payload.count, 500, "dropping headers made room for all of it")
        XCTAssertNil(fitted.headers[header: DeadLetter.Header.payloadTruncated])
        XCTAssertNil(fitted.headers[header: DeadLetter.Header.originalPayloadSize])

        var larger = full
        larger.payload = Array(repeating: 1, count: 5_000)
        let trimmed = try XCTUnwrap(DeadLetter.fitted(larger, limit: 2_000, size: Self.size))
        XCTAssertEqual(Self.size(trimmed), 2_000, "the room left goes to the payload")
        XCTAssertEqual(trimmed.headers[header: DeadLetter.Header.payloadTruncated], "true")
        XCTAssertEqual(trimmed.headers[header: DeadLetter.Header.originalPayloadSize], "5000")
        XCTAssertEqual(trimmed.headers[header: DeadLetter.Header.originalHeadersDropped], "2")
    }

    func testFittingGivesNilWhenNotEvenTheSmallestLetterFits() {
        XCTAssertNil(DeadLetter.fitted(letter(payload: 10), limit: 20, size: Self.size))
    }

    func testPoolGivesUpCountsAndMovesOnWhenSinkRefusesForGood() async throws {
        let metrics = TestMetrics()
        let outcomes = Recorder<[DispatchOutcome]>([])
        let writes = Recorder(0)
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(
                restartBackoff: .zero, metricsFactory: metrics, metricsDimensions: [("topic", "orders")]),
            makeHandler: {
                { message in
                    if message.payload == Array("poison".utf8) { throw InjectedFailure(description: "poison") }
                }
            },
            deadLetterSink: { _ in
                writes.update { $0 += 1 }
                throw EventBusError(.invalidArgument, "too large", field: "payload")
            },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } })
        let runner = Task { await pool.run() }
        try await pool.submit(["poison", "next"].map { message(key: "k", $0) })
        await waitUntil("2 outcomes") { outcomes.value.count == 2 }
        pool.finish()
        await runner.value
        XCTAssertEqual(outcomes.value.map(\.result), [.discarded, .handled])
        XCTAssertEqual(writes.value, 1, "a refusal for good is not retried")
        XCTAssertEqual(pool.statistics.deadLetterGiveUps, 1)
        XCTAssertEqual(pool.statistics.deadLettered, 0)
        func processed(_ outcome: String) throws -> Int64 {
            try metrics.expectCounter(BusMetrics.messagesProcessed, [("topic", "orders"), ("outcome", outcome)])
                .totalValue
        }
        XCTAssertEqual(try processed("discarded"), 1)
        XCTAssertEqual(try processed("dead_lettered"), 0)
    }

    func testRetriableSinkFailureIsRetriedUntilPoolStopsThenLeftWithoutOutcome() async throws {
        let outcomes = Recorder<[DispatchOutcome]>([])
        let writes = Recorder(0)
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(restartBackoff: .zero, deadLetterRetryInterval: .seconds(3600)),
            makeHandler: { { _ in throw InjectedFailure(description: "always") } },
            deadLetterSink: { _ in
                writes.update { $0 += 1 }
                throw EventBusError(.connectionFailed, "broker away", isRetriable: true)
            },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } })
        let runner = Task { await pool.run() }
        try await pool.submit(message(key: "k", "x"))
        await waitUntil("a failed write") { writes.value >= 1 }
        let stopped = ContinuousClock.now
        pool.stop()
        await runner.value
        XCTAssertLessThan(ContinuousClock.now - stopped, .seconds(2), "the hour-long retry pause ends at stop")
        XCTAssertEqual(outcomes.value.count, 0, "no outcome: the backend redelivers it")
        XCTAssertEqual(pool.statistics.deadLetterGiveUps, 0)
    }
}
