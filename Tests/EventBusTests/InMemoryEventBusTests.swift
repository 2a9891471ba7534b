import EventBus
import XCTest

private struct FirstAttemptFails: Error {}

private func raw(_ topic: String, key: String?, _ text: String) -> OutgoingMessage {
    OutgoingMessage(topic: topic, key: key, payload: Array(text.utf8))
}

final class InMemoryEventBusTests: XCTestCase {
    func testEveryMessageIsHandledOnceInKeyOrderWhenPublishedInBatches() async throws {
        let bus = try InMemoryEventBus()
        let seen = Recorder<[String: [Int]]>([:])
        let subscription = try await bus.subscribe(topic: "orders", group: "g") { message in
            let value = Int(String(decoding: message.payload, as: UTF8.self))!
            seen.update { $0[message.key!, default: []].append(value) }
        }
        var batch: [OutgoingMessage] = []
        for version in 0..<100 {
            for key in 0..<50 { batch.append(raw("orders", key: "agg-\(key)", "\(version)")) }
        }
        try await bus.publish(batch)
        await waitUntil("5000 handled") { seen.value.values.reduce(0) { $0 + $1.count } == 5000 }
        for (key, versions) in seen.value { XCTAssertEqual(versions, Array(0..<100), key) }
        await subscription.close()
        await bus.shutdown()
    }

    func testGroupsEachGetEveryMessageAndMembersShareThemWhenTwoGroupsSubscribe() async throws {
        let bus = try InMemoryEventBus()
        let byMember = Recorder<[String: Int]>([:])
        let first = try await bus.subscribe(topic: "t", group: "a") { _ in byMember.update { $0["a1", default: 0] += 1 }
        }
        let second = try await bus.subscribe(topic: "t", group: "a") { _ in
            byMember.update { $0["a2", default: 0] += 1 }
        }
        let other = try await bus.subscribe(topic: "t", group: "b") { _ in byMember.update { $0["b", default: 0] += 1 }
        }
        try await bus.publish((0..<2000).map { raw("t", key: "k\($0)", "\($0)") })
        await waitUntil("both groups done") {
            let counts = byMember.value
            return counts["a1", default: 0] + counts["a2", default: 0] == 2000 && counts["b"] == 2000
        }
        XCTAssertGreaterThan(byMember.value["a1", default: 0], 0)
        XCTAssertGreaterThan(byMember.value["a2", default: 0], 0)
        for subscription in [first, second, other] { await subscription.close() }
        await bus.shutdown()
    }

    func testUnhandledMessagesGoToRemainingMemberWhenSubscriberClosesMidway() async throws {
        let bus = try InMemoryEventBus()
        let handled = Recorder<Set<Int>>([])
        let blockedStarted = Recorder(0)
        let blocking = try await bus.subscribe(topic: "t", group: "g") { message in
            blockedStarted.update { $0 += 1 }
            try await Task.sleep(for: .milliseconds(50))
            handled.update { _ = $0.insert(Int(String(decoding: message.payload, as: UTF8.self))!) }
        }
        try await bus.publish((0..<500).map { raw("t", key: "k\($0 % 40)", "\($0)") })
        await waitUntil("the blocking member is busy") { blockedStarted.value > 0 }
        let survivor = try await bus.subscribe(topic: "t", group: "g") { message in
            handled.update { _ = $0.insert(Int(String(decoding: message.payload, as: UTF8.self))!) }
        }
        await blocking.close()
        await waitUntil("all 500 handled") { handled.value.count == 500 }
        await survivor.close()
        await bus.shutdown()
    }

    /// The envelope handler gets each envelope lent out of its publish call's batch, not copied
    /// (`EnvelopeBatch.lend`): what a handler keeps must stay intact after the batch is gone, on
    /// the path that returns and on the one that throws, and the batch's own references must not
    /// be released early (the second group and the raw group read the same envelopes).
    func testEnvelopesAHandlerKeepsStayIntactWhenTheirBatchIsFreedAndTheHandlerThrew() async throws {
        let bus = try InMemoryEventBus(
            configuration: InMemoryConfiguration(pool: ActorPoolConfiguration(restartBackoff: .zero)))
        let kept = Recorder<[String: Envelope]>([:])
        let failed = Recorder<Set<String>>([])
        let other = Recorder(0)
        let rawPayloads = Recorder<[String: [UInt8]]>([:])
        let keeping = try await bus.subscribe(
            topic: "lent", group: "keeping",
            envelopeHandler: { envelope in
                // Every third envelope fails once: its first attempt is lent and thrown out of.
                if envelope.eventVersion % 3 == 0, failed.update({ $0.insert(envelope.eventID).inserted }) {
                    throw FirstAttemptFails()
                }
                kept.update { $0[envelope.eventID] = envelope }
            })
        let counting = try await bus.subscribe(
            topic: "lent", group: "counting",
            envelopeHandler: { _ in
                other.update { $0 += 1 }
            })
        let raw = try await bus.subscribe(topic: "lent", group: "raw") { message in
            let id = message.headers.first { $0.name == OutgoingMessage.EnvelopeHeader.eventID }?.value ?? ""
            rawPayloads.update { $0[id] = message.payload }
        }
        var published: [Envelope] = []
        for call in 0..<20 {
            // Distinct payload arrays and heap-allocated event IDs, so a reference released once
            // too often is freed and reused while the kept copies still point at it.
            let envelopes = (0..<50).map { index in
                Envelope(
                    eventID: "event-\(call)-\(index)-\(String(repeating: "x", count: 40))",
                    aggregateID: "agg-\(index % 7)", eventType: "Lent", eventVersion: Int64(call * 50 + index + 1),
                    payload: Array(#"{"call":\#(call),"index":\#(index)}"#.utf8))
            }
            published += envelopes
            try await bus.publish(envelopes, to: "lent")
        }
        await waitUntil("every group handled all 1000") {
            kept.value.count == 1000 && other.value == 1000 && rawPayloads.value.count == 1000
        }
        for subscription in [keeping, counting, raw] { await subscription.close() }
        await bus.shutdown()
        // Churn the allocator, so freed storage is likely reused before the checks.
        let churn = (0..<10_000).map { Array(repeating: UInt8($0 % 251), count: 48) }
        XCTAssertEqual(churn.count, 10_000)
        XCTAssertEqual(failed.value.count, published.filter { $0.eventVersion % 3 == 0 }.count)
        for envelope in published {
            XCTAssertEqual(kept.value[envelope.eventID], envelope)
            XCTAssertEqual(rawPayloads.value[envelope.eventID], try EnvelopeCodec.encode(envelope))
        }
    }

    func testFailingMessageLandsOnDeadLetterTopicWhenHandlerAlwaysThrows() async throws {
        let bus = try InMemoryEventBus(
            configuration: InMemoryConfiguration(pool: ActorPoolConfiguration(restartBackoff: .milliseconds(1)))
        )
        let handled = Recorder<[String]>([])
        let letters = Recorder<[ReceivedMessage]>([])
        _ = try await bus.subscribe(topic: "t", group: "g") { message in
            let text = String(decoding: message.payload, as: UTF8.self)
            if text == "poison" { throw InjectedFailure(description: "cannot handle poison") }
            handled.update { $0.append(text) }
        }
        _ = try await bus.subscribe(topic: "t.dlq", group: "ops") { message in letters.update { $0.append(message) } }
        try await bus.publish(["a", "poison", "b"].map { raw("t", key: "k", $0) })
        await waitUntil("one dead letter and two handled") { letters.value.count == 1 && handled.value.count == 2 }
        XCTAssertEqual(handled.value, ["a", "b"])
        let letter = try XCTUnwrap(letters.value.first)
        XCTAssertEqual(letter.payload, Array("poison".utf8))
        XCTAssertEqual(letter.key, "k")
        XCTAssertEqual(letter.headers[header: "X-Error"], "cannot handle poison")
        XCTAssertEqual(letter.headers[header: "X-Attempts"], "4")
        XCTAssertEqual(letter.headers[header: "X-Original-Topic"], "t")
        await bus.shutdown()
    }

    func testPublisherWaitsWhenPartitionIsFullAndResumesWhenConsumed() async throws {
        let bus = try InMemoryEventBus(
            configuration: InMemoryConfiguration(partitionsPerTopic: 1, partitionCapacity: 10))
        let done = Recorder(false)
        let publisher = Task {
            try await bus.publish((0..<30).map { raw("t", key: "k", "\($0)") })
            done.update { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertFalse(done.value, "publish must wait while the partition is full and nobody consumes")
        let count = Recorder(0)
        _ = try await bus.subscribe(topic: "t", group: "late") { _ in count.update { $0 += 1 } }
        try await publisher.value
        await waitUntil("all 30 handled by the late group") { count.value == 30 }
        await bus.shutdown()
    }

    /// A member joins while the partition it is promised is busy, and leaves before it got it:
    /// the owner has withdrawn the partition's queued messages by then, so it must be given them
    /// again (a rewind) before the key's later ones, not go on without them.
    func testOwnerHandlesWithdrawnMessagesFirstWhenPendingHandoverIsCalledOff() async throws {
        let bus = try InMemoryEventBus(configuration: InMemoryConfiguration(partitionsPerTopic: 2))
        // A key of partition 1, the partition a second member is promised (the bus's mixed FNV-1a).
        let key = (0..<100).map { "k\($0)" }.first { key in
            ((UInt64(KeyHash.fnv1a(key)) &* 0x9E37_79B9_7F4A_7C15) >> 32) % 2 == 1
        }!
        let handled = Recorder<[String]>([])
        let entered = Recorder(false)
        let release = Recorder(false)
        _ = try await bus.subscribe(topic: "t", group: "g") { message in
            let text = String(decoding: message.payload, as: UTF8.self)
            entered.update { $0 = true }
            while text == "0" && !release.value { try await Task.sleep(for: .milliseconds(1)) }
            handled.update { $0.append(text) }
        }
        try await bus.publish(raw("t", key: key, "0"))
        await waitUntil("the first message is being handled") { entered.value }
        try await bus.publish((1..<5).map { raw("t", key: key, "\($0)") })
        let joiner = try await bus.subscribe(topic: "t", group: "g") { _ in
            XCTFail("the second member leaves before the busy partition is handed over")
        }
        await joiner.close()
        release.update { $0 = true }
        await waitUntil("all five handled") { handled.value.count >= 5 }
        XCTAssertEqual(handled.value, ["0", "1", "2", "3", "4"])
        await bus.shutdown()
    }

    func testPublishThrowsShutDownWhenBusWasShutDown() async throws {
        let bus = try InMemoryEventBus()
        await bus.shutdown()
        await bus.shutdown()
        do {
            try await bus.publish(raw("t", key: nil, "x"))
            XCTFail("publish after shutdown must throw")
        } catch {
            XCTAssertEqual(error.code, .shutDown)
        }
        let health = await bus.health()
        XCTAssertEqual(health.status, .unhealthy)
    }

    func testShutdownDrainsPublishedMessagesWhenHandlersAreSlow() async throws {
        let bus = try InMemoryEventBus()
        let count = Recorder(0)
        _ = try await bus.subscribe(topic: "t", group: "g") { _ in
            try await Task.sleep(for: .milliseconds(1))
            count.update { $0 += 1 }
        }
        try await bus.publish((0..<300).map { raw("t", key: "k\($0 % 7)", "\($0)") })
        await bus.shutdown()
        XCTAssertEqual(count.value, 300)
    }

    func testInvalidArgumentsThrowTypedErrorsWhenTopicOrGroupIsEmpty() async throws {
        let bus = try InMemoryEventBus()
        do {
            _ = try await bus.subscribe(topic: "", group: "g") { _ in }
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.field, "topic")
        }
        do {
            try await bus.publish(raw("", key: nil, "x"))
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
        XCTAssertThrowsError(try InMemoryEventBus(configuration: InMemoryConfiguration(partitionsPerTopic: 0)))
        await bus.shutdown()
    }
}

final class InMemoryDeadLetterBackpressureTests: XCTestCase {
    func testCloseAndShutdownReturnWhenDeadLetterTopicIsFullAndUnread() async throws {
        let bus = try InMemoryEventBus(
            configuration: InMemoryConfiguration(
                partitionsPerTopic: 1,
                deadLetterPartitionCapacity: 2,
                pool: ActorPoolConfiguration(restartBackoff: .zero, deadLetterRetryInterval: .milliseconds(5)),
                shutdownTimeout: .milliseconds(200)
            )
        )
        let attempts = Recorder(0)
        let subscription = try await bus.subscribe(topic: "t", group: "g") { _ in
            attempts.update { $0 += 1 }
            throw EventBusError(.invalidArgument, "never handled")
        }
        try await bus.publish((0..<5).map { raw("t", key: "k", "\($0)") })
        // Two dead letters fill the topic; the third message's dead letter cannot be written.
        await waitUntil("the third message failed") { attempts.value >= 3 }
        let health = await bus.health()
        XCTAssertEqual(
            health.details["eventbus.retained"], "5",
            "the 3 messages without outcome plus 2 dead letters; the first two were acknowledged at once")
        let clock = ContinuousClock()
        let started = clock.now
        await subscription.close()
        await bus.shutdown()
        XCTAssertLessThan(
            clock.now - started, .seconds(5), "close and shutdown must not hang on a full dead-letter topic")
    }
}

extension InMemoryEventBusTests {
    func testPublishThrowsCancelledWhenItsTaskIsCancelledWhileTheTopicIsFull() async throws {
        let bus = try InMemoryEventBus(
            configuration: InMemoryConfiguration(partitionsPerTopic: 1, partitionCapacity: 2))
        let release = Recorder(false)
        let started = Recorder(0)
        let subscription = try await bus.subscribe(topic: "full", group: "g") { _ in
            started.update { $0 += 1 }
            while !release.value { try? await Task.sleep(for: .milliseconds(1)) }
        }
        let publisher = Task { () -> EventBusError? in
            do {
                try await bus.publish((0..<10).map { OutgoingMessage(topic: "full", key: "k", payload: [UInt8($0)]) })
                return nil
            } catch {
                return error as? EventBusError
            }
        }
        await waitUntil("the first message is being handled") { started.value >= 1 }
        publisher.cancel()
        let error = await publisher.value
        XCTAssertEqual(error?.code, .cancelled, "\(String(describing: error))")
        release.update { $0 = true }
        await subscription.close()
        await bus.shutdown()
    }
}

extension InMemoryEventBusTests {
    func testHealthReportsAStalledSubscriptionWhileAHandlerHangsAndRecoversAfter() async throws {
        var pool = ActorPoolConfiguration()
        pool.stallTimeout = .milliseconds(300)
        let bus = try InMemoryEventBus(configuration: InMemoryConfiguration(pool: pool))
        let release = Recorder(false)
        let handled = Recorder(0)
        let subscription = try await bus.subscribe(topic: "hangs", group: "g") { message in
            if message.key == "stuck" {
                while !release.value { try? await Task.sleep(for: .milliseconds(1)) }
            }
            handled.update { $0 += 1 }
        }
        try await bus.publish((0..<3).map { OutgoingMessage(topic: "hangs", key: "stuck", payload: [UInt8($0)]) })
        try await bus.publish(OutgoingMessage(topic: "hangs", key: "other", payload: [9]))
        await waitUntil("the other key handled while 'stuck' hangs") { handled.value >= 1 }
        let early = await bus.health()
        XCTAssertEqual(early.status, .healthy, "a hang shorter than stallTimeout is not a stall")
        // Health compares progress between calls: it turns degraded once the hang outlasts stallTimeout.
        let deadline = ContinuousClock.now + .seconds(10)
        var health = await bus.health()
        while health.status == .healthy, ContinuousClock.now < deadline { health = await bus.health() }
        XCTAssertEqual(health.status, .degraded)
        XCTAssertEqual(health.details["eventbus.consume.stalled_subscriptions"], "1")
        XCTAssertTrue(health.details["eventbus.cause"]?.contains("hangs/g") == true, "\(health.details)")
        release.update { $0 = true }
        await waitUntil("the stuck key's messages handled") { handled.value >= 4 }
        let recovered = await bus.health()
        XCTAssertEqual(recovered.status, .healthy, "\(recovered.details)")
        await subscription.close()
        await bus.shutdown()
    }
}
