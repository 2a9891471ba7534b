import EventBus
import EventBusKafka
import Synchronization
import XCTest

/// `publishPipelined` as a new user meets it on Kafka: a full librdkafka queue with a cancelled
/// caller, shutdown with thousands of messages outstanding, mixed awaited and pipelined calls.
final class KafkaPipelinedAttackTests: XCTestCase {
    private static func message(_ topic: String, key: String, _ index: Int) -> OutgoingMessage {
        OutgoingMessage(topic: topic, key: key, payload: Array(String(index).utf8))
    }

    /// The error `body` threw, or nil.
    private static func failure(_ body: () async throws(EventBusError) -> Void) async -> EventBusError? {
        do throws(EventBusError) {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    /// A pipelined call's receipt, or the error the call threw.
    private struct Outcome: Sendable {
        var receipt: PublishReceipt?
        var error: EventBusError?
    }

    private static func pipelined(_ bus: KafkaEventBus, _ messages: [OutgoingMessage]) async -> Outcome {
        do throws(EventBusError) {
            return Outcome(receipt: try await bus.publishPipelined(messages))
        } catch {
            return Outcome(error: error)
        }
    }

    private static func indices(_ collector: Collector, key: String) -> [Int] {
        collector.messages.filter { $0.key == key }.map { Int(String(decoding: $0.payload, as: UTF8.self)) ?? -1 }
    }

    func testACallCancelledWhileLibrdkafkasQueueIsFullIsQueuedWholeOrNotAtAll() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(
            configuration: KafkaTestBroker.configuration { configuration in
                configuration.producer.queueCapacity = 5
                configuration.producer.linger = .milliseconds(200)
            })
        let topic = KafkaTestBroker.uniqueTopic("pipelined-cancel")
        try await bus.publish([Self.message(topic, key: "warm", 0)])
        let total = 60
        let messages = (0..<total).map { Self.message(topic, key: "k", $0) }
        let outcome = await withTaskGroup(of: Outcome.self) { group -> Outcome in
            group.addTask { await Self.pipelined(bus, messages) }
            let full = await Collector.waitUntil(timeout: .seconds(10)) { bus.outstandingDeliveries >= 5 }
            XCTAssertTrue(full, "librdkafka's queue never filled")
            group.cancelAll()
            return await group.next() ?? Outcome()
        }
        var receiptError: EventBusError?
        var callError: EventBusError?
        if let receipt = outcome.receipt {
            receiptError = await Self.failure { () async throws(EventBusError) in try await receipt.acknowledged() }
        }
        callError = outcome.error
        // A call is queued whole (its receipt then succeeds) or not at all (then it throws cancelled).
        if let callError { XCTAssertEqual(callError.code, .cancelled) }
        XCTAssertNil(receiptError, "the receipt of a partly queued call failed: \(receiptError.map { "\($0)" } ?? "")")
        // The key's next message, from another task: it must not be stored behind a gap.
        let next = [Self.message(topic, key: "k", 1000)]
        let nextOutcome = await Self.pipelined(bus, next)
        XCTAssertNil(nextOutcome.error)
        try await nextOutcome.receipt?.acknowledged()
        let collector = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { collector.add($0) }
        let arrived = await Collector.waitUntil(timeout: .seconds(60)) {
            Self.indices(collector, key: "k").contains(1000)
        }
        XCTAssertTrue(arrived)
        let seen = Self.indices(collector, key: "k")
        let expected = callError == nil ? Array(0..<total) + [1000] : [1000]
        XCTAssertEqual(seen, expected, "a refused or cancelled call left part of itself in the key's sequence")
        await subscription.close()
        await bus.shutdown()
    }

    func testACallCancelledBeforeAnyOfItFitsLibrdkafkasQueueThrowsAndQueuesNothing() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(
            configuration: KafkaTestBroker.configuration { configuration in
                configuration.producer.queueCapacity = 5
                configuration.producer.linger = .milliseconds(200)
            })
        let topic = KafkaTestBroker.uniqueTopic("pipelined-cancel-early")
        try await bus.publish([Self.message(topic, key: "warm", 0)])
        let filling = (0..<60).map { Self.message(topic, key: "fill", $0) }
        let refused = (0..<3).map { Self.message(topic, key: "refused", $0) }
        let (filled, cancelled) = await withTaskGroup(of: (Int, Outcome).self) { group -> (Outcome, Outcome) in
            group.addTask { (0, await Self.pipelined(bus, filling)) }
            let full = await Collector.waitUntil(timeout: .seconds(10)) { bus.outstandingDeliveries >= 5 }
            XCTAssertTrue(full, "librdkafka's queue never filled")
            // The queue is full and the filling call waits for room: this call cannot enqueue its first message.
            let waiting = Task { await Self.pipelined(bus, refused) }
            waiting.cancel()
            let outcome = await waiting.value
            var filled = Outcome()
            for await (_, result) in group { filled = result }
            return (filled, outcome)
        }
        XCTAssertNil(filled.error)
        try await filled.receipt?.acknowledged()
        if let receipt = cancelled.receipt {
            // It found room before the cancellation came: then all of it must go through.
            try await receipt.acknowledged()
        } else {
            XCTAssertEqual(cancelled.error?.code, .cancelled)
        }
        try await bus.publishPipelined([Self.message(topic, key: "refused", 1000)]).acknowledged()
        let collector = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { collector.add($0) }
        let arrived = await Collector.waitUntil(timeout: .seconds(60)) {
            Self.indices(collector, key: "refused").contains(1000)
        }
        XCTAssertTrue(arrived)
        XCTAssertEqual(Self.indices(collector, key: "refused"), cancelled.receipt == nil ? [1000] : [0, 1, 2, 1000])
        XCTAssertEqual(Self.indices(collector, key: "fill"), Array(0..<60))
        await subscription.close()
        await bus.shutdown()
    }

    func testReceiptsSettleWithinTheMessageTimeoutWhenTheBrokerDies() async throws {
        let broker = try PrivateTansu()
        let configuration = try KafkaTestBroker.configuration(brokers: broker.address, quiet: true) {
            $0.producer.messageTimeout = .seconds(2)
        }
        let bus = try KafkaEventBus(configuration: configuration)
        let topic = KafkaTestBroker.uniqueTopic("pipelined-dies")
        let ready = ContinuousClock.now + .seconds(10)
        while await Self.failure({ () async throws(EventBusError) in
            try await bus.publish([Self.message(topic, key: "k", 0)])
        }) != nil {
            guard ContinuousClock.now < ready else { return XCTFail("the private broker never took a message") }
            try await Task.sleep(for: .milliseconds(100))
        }
        broker.pause()
        var receipts: [PublishReceipt] = []
        for call in 0..<50 {
            receipts.append(
                try await bus.publishPipelined((0..<20).map { Self.message(topic, key: "k", call * 20 + $0) }))
        }
        broker.kill()
        let started = ContinuousClock.now
        var failed = 0
        for receipt in receipts {
            if let error = await Self.failure({ () async throws(EventBusError) in try await receipt.acknowledged() }) {
                XCTAssertTrue(error.isRetriable, "\(error)")
                failed += 1
            }
        }
        XCTAssertEqual(failed, receipts.count, "a receipt succeeded with the broker paused then gone")
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(15), "receipts hung past the message timeout")
        await bus.shutdown()
    }

    func testShutdownWithThousandsOutstandingSettlesEveryReceipt() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("pipelined-shutdown")
        try await bus.publish([Self.message(topic, key: "warm", 0)])
        let acknowledged = Shared<Set<String>>([])
        let codes = Shared<[EventBusError.Code: Int]>([:])
        let callsStarted = Counter()
        let publishers = (0..<6).map { task in
            Task {
                var receipts: [(PublishReceipt, [String])] = []
                for call in 0..<2000 {
                    let messages = (0..<10).map { Self.message(topic, key: "key-\(task)", call * 10 + $0) }
                    callsStarted.add()
                    do throws(EventBusError) {
                        receipts.append(
                            (try await bus.publishPipelined(messages), messages.map { "\($0.key!)/\($0.payload)" }))
                    } catch {
                        XCTAssertEqual(error.code, .shutDown, "a call after shutdown threw \(error)")
                        break
                    }
                }
                for (receipt, ids) in receipts {
                    if let error = await Self.failure({ () async throws(EventBusError) in
                        try await receipt.acknowledged()
                    }) {
                        codes.withLock { $0[error.code, default: 0] += 1 }
                    } else {
                        acknowledged.withLock { $0.formUnion(ids) }
                    }
                }
            }
        }
        let underWay = await Collector.waitUntil(timeout: .seconds(30)) { callsStarted.current >= 600 }
        XCTAssertTrue(underWay)
        let started = ContinuousClock.now
        await bus.shutdown()
        for publisher in publishers { await publisher.value }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(40), "receipts settled too late")
        for code in codes.withLock({ $0.keys }) {
            XCTAssertEqual(code, .shutDown, "unexpected receipt failure")
        }
        let reader = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let collector = Collector()
        let subscription = try await reader.subscribe(topic: topic, group: "g-\(topic)") { collector.add($0) }
        let expected = acknowledged.withLock { $0 }
        let stored = await Collector.waitUntil(timeout: .seconds(60)) {
            expected.isSubset(of: Set(collector.messages.map { "\($0.key!)/\($0.payload)" }))
        }
        XCTAssertTrue(stored, "acknowledged messages missing from the topic")
        for task in 0..<6 {
            let seen = Self.indices(collector, key: "key-\(task)")
            XCTAssertEqual(seen, seen.sorted(), "key-\(task) out of order")
        }
        await subscription.close()
        await reader.shutdown()
    }

    func testShutdownWithTheBrokerPausedSettlesEveryReceiptAndFailsCallsWaitingForRoom() async throws {
        let broker = try PrivateTansu()
        let configuration = try KafkaTestBroker.configuration(brokers: broker.address, quiet: true) {
            $0.producer.messageTimeout = .seconds(3)
            $0.producer.queueCapacity = 50
        }
        let bus = try KafkaEventBus(configuration: configuration)
        let topic = KafkaTestBroker.uniqueTopic("pipelined-paused-shutdown")
        let ready = ContinuousClock.now + .seconds(10)
        while await Self.failure({ () async throws(EventBusError) in
            try await bus.publish([Self.message(topic, key: "k", 0)])
        }) != nil {
            guard ContinuousClock.now < ready else { return XCTFail("the private broker never took a message") }
            try await Task.sleep(for: .milliseconds(100))
        }
        broker.pause()
        var receipts: [PublishReceipt] = []
        for call in 0..<5 {
            receipts.append(
                try await bus.publishPipelined((0..<10).map { Self.message(topic, key: "k", call * 10 + $0) }))
        }
        // The queue is full: this call waits for room that only the message timeout or shutdown gives.
        let late = (0..<10).map { Self.message(topic, key: "k", 1000 + $0) }
        let (lateOutcome, took) = await withTaskGroup(of: Outcome.self) { group -> (Outcome, Duration) in
            group.addTask { await Self.pipelined(bus, late) }
            let started = ContinuousClock.now
            await bus.shutdown()
            let outcome = await group.next() ?? Outcome()
            for receipt in receipts {
                _ = await Self.failure { () async throws(EventBusError) in try await receipt.acknowledged() }
            }
            if let receipt = outcome.receipt {
                _ = await Self.failure { () async throws(EventBusError) in try await receipt.acknowledged() }
            }
            return (outcome, ContinuousClock.now - started)
        }
        XCTAssertTrue(receipts.allSatisfy(\.isSettled))
        // Nothing of it fit before the shutdown: it throws shutDown and queues nothing.
        XCTAssertEqual(lateOutcome.error?.code, .shutDown)
        XCTAssertNil(lateOutcome.receipt)
        XCTAssertLessThan(took, .seconds(20), "shutdown or the receipts hung with the broker paused")
        broker.kill()
    }

    func testACallThatSawTheBusRunningButProducesAfterShutdownBeganFailsInsteadOfHanging() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("pipelined-late-produce")
        let receipt = try await bus.publishPipelined([Self.message(topic, key: "k", 0)])
        // What shutdown does first; a call past its isShutDown check produces only now.
        bus.stopProducing()
        let completion = PublishCompletion(count: 2)
        let error = await bus.enqueueWholeCall(
            [Self.message(topic, key: "k", 1), Self.message(topic, key: "k", 2)], completion: completion)
        // Nothing of the call was enqueued: it is refused for the caller to throw, and nothing of
        // it waits for a delivery report (enqueued, it would wait for ever).
        XCTAssertEqual(error?.code, .shutDown)
        XCTAssertFalse(completion.isFinished, "a refused call settled its messages as if enqueued")
        XCTAssertLessThanOrEqual(bus.outstandingDeliveries, 1, "a refused call was enqueued")
        // Messages enqueued before are still flushed.
        try await receipt.acknowledged()
        await bus.shutdown()
    }

    func testMixedAwaitedAndPipelinedCallsFromOneTaskKeepTheirOrder() async throws {
        try KafkaTestBroker.requireReachable()
        let bus = try KafkaEventBus(configuration: KafkaTestBroker.configuration())
        let topic = KafkaTestBroker.uniqueTopic("pipelined-mixed")
        var receipts: [PublishReceipt] = []
        for index in 0..<300 {
            let message = Self.message(topic, key: "k\(index % 3)", index)
            if index % 4 == 3 {
                try await bus.publish([message])
            } else {
                receipts.append(try await bus.publishPipelined([message]))
            }
        }
        for receipt in receipts { try await receipt.acknowledged() }
        let collector = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { collector.add($0) }
        let arrived = await Collector.waitUntil(timeout: .seconds(60)) { collector.count >= 300 }
        XCTAssertTrue(arrived)
        for key in 0..<3 {
            XCTAssertEqual(Self.indices(collector, key: "k\(key)"), Array(stride(from: key, to: 300, by: 3)))
        }
        await subscription.close()
        await bus.shutdown()
    }
}

/// A value tasks can share.
private final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}

/// A counter tasks can share.
private final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}
