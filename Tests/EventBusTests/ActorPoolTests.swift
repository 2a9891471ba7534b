import EventBus
import MetricsTestKit
import XCTest

final class ActorPoolTests: XCTestCase {
    private func makePool(
        _ configuration: ActorPoolConfiguration = ActorPoolConfiguration(restartBackoff: .milliseconds(1)),
        deadLetters: Recorder<[DeadLetter]> = Recorder([]),
        outcomes: Recorder<[DispatchOutcome]>,
        handler: @escaping MessageHandler
    ) throws -> ActorPool {
        try ActorPool(
            configuration: configuration,
            makeHandler: { handler },
            deadLetterSink: { letter in deadLetters.update { $0.append(letter) } },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } }
        )
    }

    func testMessagesOfOneKeyAreHandledInSubmissionOrderWhenManyKeysInterleave() async throws {
        let seen = Recorder<[String: [Int]]>([:])
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(outcomes: outcomes) { message in
            let text = String(decoding: message.payload, as: UTF8.self)
            seen.update { $0[message.key!, default: []].append(Int(text)!) }
        }
        let runner = Task { await pool.run() }
        var batch: [ReceivedMessage] = []
        for sequence in 0..<50 {
            for key in 0..<100 { batch.append(message(key: "agg-\(key)", "\(sequence)")) }
        }
        try await pool.submit(batch)
        await waitUntil("all 5000 outcomes arrive") { outcomes.value.count == 5000 }
        pool.finish()
        await runner.value
        XCTAssertEqual(seen.value.count, 100)
        for (key, sequences) in seen.value {
            XCTAssertEqual(sequences, Array(0..<50), "order broken for \(key)")
        }
        XCTAssertTrue(outcomes.value.allSatisfy { $0.result == .handled && $0.attempts == 1 })
    }

    func testDifferentKeysRunConcurrentlyWhenHandlersBlock() async throws {
        let inside = Recorder<Set<String>>([])
        let maximum = Recorder(0)
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(outcomes: outcomes) { message in
            let count = inside.update {
                $0.insert(message.key!)
                return $0.count
            }
            maximum.update { $0 = max($0, count) }
            // Hold the handler until several keys are inside at once (or give up after a while).
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(2))
            while maximum.value < 4 && clock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
            inside.update { _ = $0.remove(message.key!) }
        }
        let runner = Task { await pool.run() }
        try await pool.submit((0..<8).map { message(key: "key-\($0)", "x") })
        await waitUntil("8 outcomes") { outcomes.value.count == 8 }
        pool.finish()
        await runner.value
        XCTAssertGreaterThanOrEqual(maximum.value, 4)
    }

    func testFailingHandlerIsRestartedAndMessageRetriedWhenItFailsTwice() async throws {
        let attempts = Recorder<[String: Int]>([:])
        let order = Recorder<[String]>([])
        let factoryCalls = Recorder(0)
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(actorCount: 1, restartBackoff: .milliseconds(1)),
            makeHandler: {
                factoryCalls.update { $0 += 1 }
                return { message in
                    let text = String(decoding: message.payload, as: UTF8.self)
                    let attempt = attempts.update {
                        $0[text, default: 0] += 1
                        return $0[text]!
                    }
                    if text == "b" && attempt <= 2 { throw InjectedFailure(description: "boom \(attempt)") }
                    order.update { $0.append(text) }
                }
            },
            deadLetterSink: { _ in XCTFail("nothing should be dead-lettered") },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } }
        )
        let runner = Task { await pool.run() }
        try await pool.submit(["a", "b", "c"].map { message(key: "same", $0) })
        await waitUntil("3 outcomes") { outcomes.value.count == 3 }
        pool.finish()
        await runner.value
        XCTAssertEqual(order.value, ["a", "b", "c"])
        XCTAssertEqual(pool.statistics.restarts, 2)
        XCTAssertEqual(factoryCalls.value, 3, "one handler at start plus one per restart")
        XCTAssertEqual(outcomes.value.map(\.attempts), [1, 3, 1])
    }

    func testMessageIsDeadLetteredAfterThreeRestartsWhenHandlerAlwaysFails() async throws {
        let deadLetters = Recorder<[DeadLetter]>([])
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(deadLetters: deadLetters, outcomes: outcomes) { message in
            if message.payload == Array("poison".utf8) { throw InjectedFailure(description: "always fails") }
        }
        let runner = Task { await pool.run() }
        try await pool.submit(["ok-1", "poison", "ok-2"].map { message(key: "k", $0) })
        await waitUntil("3 outcomes") { outcomes.value.count == 3 }
        pool.finish()
        await runner.value
        XCTAssertEqual(outcomes.value.map(\.result), [.handled, .deadLettered, .handled])
        XCTAssertEqual(deadLetters.value.count, 1)
        XCTAssertEqual(deadLetters.value.first?.attempts, 4)
        XCTAssertEqual(deadLetters.value.first?.errorDescription, "always fails")
        XCTAssertEqual(pool.statistics, ActorPool.Statistics(handled: 2, deadLettered: 1, restarts: 3))
    }

    func testNonRetriableErrorIsDeadLetteredWithoutRestartWhenHandlerThrowsIt() async throws {
        let deadLetters = Recorder<[DeadLetter]>([])
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(deadLetters: deadLetters, outcomes: outcomes) { _ in
            throw EventBusError(.malformedEnvelope, "bad bytes", field: "json")
        }
        let runner = Task { await pool.run() }
        try await pool.submit(message(key: "k", "x"))
        await waitUntil("1 outcome") { outcomes.value.count == 1 }
        pool.finish()
        await runner.value
        XCTAssertEqual(deadLetters.value.first?.attempts, 1)
        XCTAssertEqual(pool.statistics.restarts, 0)
    }

    func testProducerWaitsWhenInboxIsFull() async throws {
        let gate = Recorder(false)
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(
            ActorPoolConfiguration(actorCount: 1, inboxCapacity: 10),
            outcomes: outcomes
        ) { _ in
            while !gate.value { try await Task.sleep(for: .milliseconds(1)) }
        }
        let runner = Task { await pool.run() }
        let submitted = Recorder(false)
        let producer = Task {
            try await pool.submit((0..<25).map { message(key: "k", "\($0)", offset: Int64($0)) })
            submitted.update { $0 = true }
        }
        await waitUntil("the inbox fills") { pool.occupancy == 10 }
        XCTAssertFalse(submitted.value, "submit must wait while the inbox is full")
        XCTAssertEqual(pool.occupancy, 10, "capacity bounds queued plus running messages")
        gate.update { $0 = true }
        try await producer.value
        await waitUntil("25 outcomes") { outcomes.value.count == 25 }
        pool.finish()
        await runner.value
        XCTAssertEqual(
            outcomes.value.map(\.offset), (0..<25).map(Int64.init))
    }

    func testOfferReturnsLeftoversInOrderWhenInboxIsFull() async throws {
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(ActorPoolConfiguration(actorCount: 1, inboxCapacity: 4), outcomes: outcomes) { _ in }
        let rest = pool.offer((0..<10).map { message(key: "k", "\($0)", offset: Int64($0)) })
        XCTAssertEqual(rest.map { String(decoding: $0.payload, as: UTF8.self) }, (4..<10).map(String.init))
        let runner = Task { await pool.run() }
        try await pool.submit(rest)
        await waitUntil("10 outcomes") { outcomes.value.count == 10 }
        pool.finish()
        await runner.value
        XCTAssertEqual(
            outcomes.value.map(\.offset), (0..<10).map(Int64.init))
    }

    func testOfferReturnsLeftoversOfSeveralActorsInOriginalOrderWhenTheirInboxesFill() async throws {
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(ActorPoolConfiguration(actorCount: 2, inboxCapacity: 2), outcomes: outcomes) { _ in }
        let keys = (0..<50).map { "key-\($0)" }
        let first = try XCTUnwrap(keys.first { pool.actorIndex(forKey: $0) == 0 })
        let second = try XCTUnwrap(keys.first { pool.actorIndex(forKey: $0) == 1 })
        // a0 b0 a1 b1 a2 b2 a3: two of each actor fit, the rest comes back in this order.
        let batch = (0..<7).map { index in
            message(key: index % 2 == 0 ? first : second, "\(index)", offset: Int64(index))
        }
        let rest = pool.offer(batch)
        XCTAssertEqual(rest.map(\.offset), [4, 5, 6])
        let runner = Task { await pool.run() }
        try await pool.submit(rest)
        await waitUntil("7 outcomes") { outcomes.value.count == 7 }
        pool.finish()
        await runner.value
        XCTAssertEqual(outcomes.value.filter { $0.offset % 2 == 0 }.map(\.offset), [0, 2, 4, 6])
        XCTAssertEqual(outcomes.value.filter { $0.offset % 2 == 1 }.map(\.offset), [1, 3, 5])
    }

    func testOfferDrainingUsesGivenActorsAndChoosesKeylessOnesWhenActorsAreGiven() async throws {
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(ActorPoolConfiguration(actorCount: 2, inboxCapacity: 3), outcomes: outcomes) { _ in }
        let keys = (0..<50).map { "key-\($0)" }
        let first = try XCTUnwrap(keys.first { pool.actorIndex(forKey: $0) == 0 })
        let second = try XCTUnwrap(keys.first { pool.actorIndex(forKey: $0) == 1 })
        // a0 b1 -2 a3 b4 a5 a6, where -2 is keyless: its actor (-1) is chosen by the pool.
        var batch = [
            message(key: first, "0", offset: 0), message(key: second, "1", offset: 1),
            message(key: nil, "2", offset: 2), message(key: first, "3", offset: 3),
            message(key: second, "4", offset: 4), message(key: first, "5", offset: 5),
            message(key: first, "6", offset: 6),
        ]
        let actors = batch.map { $0.key.map { pool.actorIndex(forKey: $0) } ?? -1 }
        let rest = pool.offer(draining: &batch, actors: actors)
        XCTAssertTrue(batch.isEmpty, "the buffer is left empty for the next fetch")
        XCTAssertGreaterThanOrEqual(batch.capacity, 7, "and keeps its capacity")
        // Keyless messages rotate from actor 0, so actor 0 is given a0 -2 a3 a5 a6 and takes three;
        // actor 1 takes b1 b4.
        XCTAssertEqual(pool.occupancy, 5)
        XCTAssertEqual(rest.map(\.offset), [5, 6])
        let runner = Task { await pool.run() }
        try await pool.submit(rest)
        await waitUntil("7 outcomes") { outcomes.value.count == 7 }
        pool.finish()
        await runner.value
        let firstKeyOffsets = outcomes.value.map(\.offset).filter { [0, 3, 5, 6].contains($0) }
        XCTAssertEqual(firstKeyOffsets, [0, 3, 5, 6], "one key's messages stay in order")
    }

    func testDeferredContentIsCopiedOnceBeforeTheHandlerAndReleasedAfterHandling() async throws {
        let outcomes = Recorder<[DispatchOutcome]>([])
        let deadLetters = Recorder<[DeadLetter]>([])
        let seen = Recorder<[String]>([])
        let pool = try makePool(deadLetters: deadLetters, outcomes: outcomes) { message in
            seen.update {
                $0.append(
                    String(decoding: message.payload, as: UTF8.self) + "/" + (message.headers[header: "X-Index"] ?? "?")
                )
            }
            if message.payload == Array("poison".utf8) { throw InjectedFailure(description: "always fails") }
        }
        weak var released: FakeFetch?
        do {
            let fetch = FakeFetch(["a", "poison", "c"])
            released = fetch
            let runner = Task { await pool.run() }
            try await pool.submit((0..<3).map { fetch.message($0, key: "k") })
            await waitUntil("3 outcomes") { outcomes.value.count == 3 }
            pool.finish()
            await runner.value
            XCTAssertEqual(fetch.copiedIndices, [0, 1, 2], "one copy per message, however often it is retried")
        }
        XCTAssertEqual(seen.value, ["a/0", "poison/1", "poison/1", "poison/1", "poison/1", "c/2"])
        XCTAssertEqual(deadLetters.value.first.map { String(decoding: $0.message.payload, as: UTF8.self) }, "poison")
        XCTAssertEqual(deadLetters.value.first?.message.headers[header: "X-Index"], "1")
        XCTAssertNil(released, "the fetch is released once its messages were handled")
    }

    func testStopAbandonsQueuedMessagesWithoutOutcomeWhenCalledMidway() async throws {
        let started = Recorder(0)
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(ActorPoolConfiguration(actorCount: 1), outcomes: outcomes) { _ in
            started.update { $0 += 1 }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let runner = Task { await pool.run() }
        try await pool.submit((0..<100).map { message(key: "k", "\($0)") })
        await waitUntil("a handler starts") { started.value >= 1 }
        pool.stop()
        await runner.value
        XCTAssertLessThan(outcomes.value.count, 100)
        XCTAssertEqual(outcomes.value.count, started.value, "only messages whose handler ran get an outcome")
        XCTAssertEqual(pool.occupancy, 0)
        do {
            try await pool.submit(message(key: "k", "late"))
            XCTFail("submit after stop must throw")
        } catch {
            XCTAssertEqual(error.code, .shutDown)
        }
    }

    func testCountersReportHandledDeadLetteredAndRestartsWhenMetricsFactoryIsGiven() async throws {
        let metrics = TestMetrics()
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(
            ActorPoolConfiguration(
                restartBackoff: .zero,
                metricsFactory: metrics,
                metricsDimensions: [("topic", "orders")]
            ),
            outcomes: outcomes
        ) { message in
            if message.payload == Array("poison".utf8) { throw InjectedFailure(description: "poison") }
        }
        let runner = Task { await pool.run() }
        try await pool.submit(["a", "poison", "b", "c"].map { message(key: "k", $0) })
        await waitUntil("4 outcomes") { outcomes.value.count == 4 }
        pool.finish()
        await runner.value
        func processed(_ outcome: String) throws -> Int64 {
            try metrics.expectCounter(BusMetrics.messagesProcessed, [("topic", "orders"), ("outcome", outcome)])
                .totalValue
        }
        XCTAssertEqual(try processed("handled"), 3)
        XCTAssertEqual(try processed("dead_lettered"), 1)
        XCTAssertEqual(try processed("retried"), 3)
        XCTAssertEqual(try processed("discarded"), 0)
        let calls = try metrics.expectTimer(BusMetrics.processDuration, [("topic", "orders"), ("outcome", "success")])
        let failures = try metrics.expectTimer(
            BusMetrics.processDuration, [("topic", "orders"), ("outcome", "failure")])
        XCTAssertEqual(calls.values.count, 3, "one timing per successful handler call")
        XCTAssertEqual(failures.values.count, 4, "one timing per failed call: the first and 3 restarts")
    }

    /// The default factory is swift-metrics' no-op one (the tests bootstrap no metrics system).
    func testMakesNoMetricHandleWhenTheFactoryIsTheNoOpOne() throws {
        let pool = try makePool(ActorPoolConfiguration(), outcomes: Recorder([])) { _ in }
        XCTAssertNil(pool.metrics, "the no-op factory must leave the per-message path without metrics")
    }

    func testInvalidConfigurationThrowsWhenActorCountIsZero() {
        XCTAssertThrowsError(
            try ActorPool(
                configuration: ActorPoolConfiguration(actorCount: 0),
                makeHandler: { { _ in } },
                deadLetterSink: { _ in },
                onOutcomes: { _ in }
            )
        ) { error in
            XCTAssertEqual((error as? EventBusError)?.field, "actorCount")
        }
    }

    func testKeyHashIsFNV1aWhenComparedWithKnownVectors() {
        XCTAssertEqual(KeyHash.fnv1a(""), 0x811c_9dc5)
        XCTAssertEqual(KeyHash.fnv1a("a"), 0xe40c_292c)
        XCTAssertEqual(KeyHash.fnv1a("foobar"), 0xbf9c_f968)
    }

    func testQueuedMessagesOfRevokedPartitionAreWithdrawnWhenOnlyTheRunningOneFinishes() async throws {
        let revoked = Recorder<Set<Int32>>([])
        let handled = Recorder<[Int64]>([])
        let outcomes = Recorder<[DispatchOutcome]>([])
        let entered = Recorder(false)
        let release = Recorder(false)
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(actorCount: 1),
            makeHandler: {
                { message in
                    entered.update { $0 = true }
                    while message.offset == 0 && !release.value { try await Task.sleep(for: .milliseconds(1)) }
                    handled.update { $0.append(message.offset) }
                }
            },
            deadLetterSink: { _ in },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } },
            isCurrent: { message in !revoked.value.contains(message.partition) }
        )
        let runner = Task { await pool.run() }
        // Partition 1's first message blocks the only actor; the rest of both partitions queue up.
        func partitioned(_ partition: Int32, _ offset: Int64) -> ReceivedMessage {
            ReceivedMessage(topic: "t", key: "k", payload: [], partition: partition, offset: offset)
        }
        try await pool.submit([partitioned(1, 0)])
        await waitUntil("the first handler runs") { entered.value }
        try await pool.submit([partitioned(1, 1), partitioned(2, 2), partitioned(1, 3), partitioned(2, 4)])
        revoked.update { $0 = [1] }
        let withdrawn = pool.withdrawRevoked()
        XCTAssertEqual(withdrawn, 2, "offsets 1 and 3 were queued for the revoked partition")
        XCTAssertEqual(
            Set(outcomes.value.filter { $0.result == .withdrawn }.map(\.offset)), [1, 3],
            "withdrawn messages are reported before withdrawRevoked returns")
        release.update { $0 = true }
        await waitUntil("all five outcomes") { outcomes.value.count == 5 }
        pool.finish()
        await runner.value
        XCTAssertEqual(handled.value, [0, 2, 4], "the running message finishes; partition 2 is untouched")
        XCTAssertEqual(pool.statistics.handled, 3, "withdrawn messages do not count as handled")
    }

    /// The race behind a NATS membership test's order violations: an actor works through a batch
    /// taken before some withdrawal (of another partition), its own partition stops being current,
    /// and the actor takes its next batch before the withdrawal for that partition reaches its
    /// inbox. It skips the rest of the old batch (the revision changed, the messages are not
    /// current), so it must skip the new batch's messages of that partition too, not handle them
    /// after later versions were skipped.
    func testLaterMessagesOfRevokedPartitionAreWithdrawnWhenActorTookThemBeforeTheirWithdrawal() async throws {
        let revoked = Recorder<Set<Int32>>([])
        let handled = Recorder<[Int64]>([])
        let outcomes = Recorder<[DispatchOutcome]>([])
        let entered = Recorder(false)
        let release = Recorder(false)
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(actorCount: 1),
            makeHandler: {
                { message in
                    entered.update { $0 = true }
                    while message.offset == 0 && !release.value { try await Task.sleep(for: .milliseconds(1)) }
                    handled.update { $0.append(message.offset) }
                }
            },
            deadLetterSink: { _ in },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } },
            isCurrent: { message in !revoked.value.contains(message.partition) }
        )
        let runner = Task { await pool.run() }
        func partitioned(_ partition: Int32, _ offset: Int64) -> ReceivedMessage {
            ReceivedMessage(topic: "t", key: "k", payload: [], partition: partition, offset: offset)
        }
        // One batch of partition 1: the actor takes all three and blocks in the first.
        try await pool.submit([partitioned(1, 0), partitioned(1, 1), partitioned(1, 2)])
        await waitUntil("the first handler runs") { entered.value }
        // Partition 2 is revoked: every inbox's revision moves on, nothing of partition 1 is touched.
        revoked.update { $0 = [2] }
        XCTAssertEqual(pool.withdrawRevoked(), 0)
        // Partition 1's next message is queued, then partition 1 stops being current; its
        // withdrawal has not reached the inbox when the actor takes the queued message.
        try await pool.submit([partitioned(1, 3)])
        revoked.update { $0 = [1, 2] }
        release.update { $0 = true }
        await waitUntil("all four outcomes") { outcomes.value.count == 4 }
        pool.finish()
        await runner.value
        XCTAssertEqual(handled.value, [0], "after offsets 1 and 2 were withdrawn, offset 3 must not be handled")
        XCTAssertEqual(
            outcomes.value.filter { $0.result == .withdrawn }.map(\.offset), [1, 2, 3],
            "every message after the first withdrawn one of that partition's ownership is withdrawn")
    }

    /// A message of a partition offered after `withdrawRevoked()` took that partition's queued
    /// messages out of the inbox is withdrawn as well, so a key never has a later message handled
    /// after an earlier one was withdrawn, even when a backend offers a revoked message late.
    func testLateOfferOfRevokedPartitionIsWithdrawnWhenItsEarlierMessagesWere() async throws {
        let revoked = Recorder<Set<Int32>>([])
        let handled = Recorder<[Int64]>([])
        let outcomes = Recorder<[DispatchOutcome]>([])
        let entered = Recorder(false)
        let release = Recorder(false)
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(actorCount: 1),
            makeHandler: {
                { message in
                    entered.update { $0 = true }
                    while message.offset == 0 && !release.value { try await Task.sleep(for: .milliseconds(1)) }
                    handled.update { $0.append(message.offset) }
                }
            },
            deadLetterSink: { _ in },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } },
            isCurrent: { message in !revoked.value.contains(message.partition) }
        )
        let runner = Task { await pool.run() }
        func partitioned(_ partition: Int32, _ offset: Int64, tag: UInt64 = 1) -> ReceivedMessage {
            var message = ReceivedMessage(topic: "t", key: "k", payload: [], partition: partition, offset: offset)
            message.deliveryTag = tag
            return message
        }
        try await pool.submit([partitioned(1, 0)])
        await waitUntil("the first handler runs") { entered.value }
        try await pool.submit([partitioned(1, 1)])
        revoked.update { $0 = [1] }
        XCTAssertEqual(pool.withdrawRevoked(), 1)
        // Offered after the withdrawal: offset 2 of the same ownership, and offset 1 again under
        // a new ownership (tag 2) of partition 1, current again.
        try await pool.submit([partitioned(1, 2)])
        revoked.update { $0 = [] }
        try await pool.submit([partitioned(1, 1, tag: 2)])
        release.update { $0 = true }
        await waitUntil("all four outcomes") { outcomes.value.count == 4 }
        pool.finish()
        await runner.value
        XCTAssertEqual(
            handled.value, [0, 1], "offset 2 of the revoked ownership is withdrawn; the new one starts again at 1")
        XCTAssertEqual(
            outcomes.value.map { "\($0.offset)/\($0.deliveryTag) \($0.result)" },
            ["1/1 withdrawn", "0/1 handled", "2/1 withdrawn", "1/2 handled"])
    }

    func testRetriedMessageIsWithdrawnWhenItsPartitionIsRevokedDuringRetries() async throws {
        let revoked = Recorder(false)
        let attempts = Recorder(0)
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try ActorPool(
            configuration: ActorPoolConfiguration(actorCount: 1, maxRestarts: 3, restartBackoff: .milliseconds(20)),
            makeHandler: {
                { _ in
                    attempts.update { $0 += 1 }
                    throw InjectedFailure(description: "always fails")
                }
            },
            deadLetterSink: { _ in XCTFail("a withdrawn message must not be dead-lettered") },
            onOutcomes: { batch in outcomes.update { $0.append(contentsOf: batch) } },
            isCurrent: { _ in !revoked.value }
        )
        let runner = Task { await pool.run() }
        try await pool.submit([message(key: "k", "x", offset: 7)])
        await waitUntil("the first attempt failed") { attempts.value >= 1 }
        revoked.update { $0 = true }
        pool.withdrawRevoked()
        await waitUntil("an outcome") { outcomes.value.count == 1 }
        pool.finish()
        await runner.value
        XCTAssertEqual(outcomes.value.first?.result, .withdrawn)
        XCTAssertLessThan(attempts.value, 4, "the retries stop once the partition is revoked")
    }
}

extension ActorPoolTests {
    func testSubmitThrowsCancelledWhenItsTaskIsCancelledWhileWaitingForRoom() async throws {
        let release = Recorder(false)
        let outcomes = Recorder<[DispatchOutcome]>([])
        let pool = try makePool(
            ActorPoolConfiguration(actorCount: 1, inboxCapacity: 1), outcomes: outcomes
        ) { _ in
            // Holds the only slot until the test lets go.
            while !release.value { try? await Task.sleep(for: .milliseconds(1)) }
        }
        let runner = Task { await pool.run() }
        let submitter = Task { () -> EventBusError? in
            do {
                try await pool.submit((0..<3).map { message(key: "k", "\($0)") })
                return nil
            } catch {
                return error as? EventBusError
            }
        }
        await waitUntil("the first message is being handled") { pool.occupancy >= 1 }
        submitter.cancel()
        let error = await submitter.value
        XCTAssertEqual(error?.code, .cancelled, "\(String(describing: error))")
        release.update { $0 = true }
        pool.finish()
        await runner.value
    }
}
