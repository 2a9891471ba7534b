import EventBus
import EventBusNATS
import MetricsTestKit
import Synchronization
import XCTest

/// `publishPipelined` as a new user meets it on NATS: refused calls, a small `maxPending`,
/// cancellation, unawaited receipts, shutdown and a broker that goes away with receipts outstanding.
final class NATSPipelinedAttackTests: XCTestCase {
    private func makeBus(
        maxPending: Int = 4096, url: String? = nil, metrics: TestMetrics? = nil
    ) async throws -> NATSEventBus {
        let url = try url ?? NATSTestEnvironment.requireBroker()
        var configuration = NATSTestEnvironment.configuration(url: url)
        if let metrics { configuration.pool.metricsFactory = metrics }
        configuration.publish.maxPending = maxPending
        configuration.publish.ackTimeout = .seconds(2)
        configuration.reconnect.wait = .milliseconds(100)
        return try await NATSEventBus.connect(configuration)
    }

    private static func message(_ topic: String, key: String, _ index: Int) -> OutgoingMessage {
        OutgoingMessage(
            topic: topic, key: key, headers: [MessageHeader(name: "X-Event-ID", value: "\(topic)-\(key)-\(index)")],
            payload: Array(String(index).utf8))
    }

    /// The error a pipelined call threw, or nil.
    private static func pipelinedFailure(_ bus: NATSEventBus, _ messages: [OutgoingMessage]) async -> EventBusError? {
        do throws(EventBusError) {
            _ = try await bus.publishPipelined(messages)
            return nil
        } catch {
            return error
        }
    }

    /// Records each key's payloads in arrival order.
    private final class Arrivals: Sendable {
        private let values = Mutex<[String: [Int]]>([:])
        func append(_ message: ReceivedMessage) {
            let index = Int(String(decoding: message.payload, as: UTF8.self)) ?? -1
            values.withLock { $0[message.key ?? "", default: []].append(index) }
        }
        var all: [String: [Int]] { values.withLock { $0 } }
        var count: Int { values.withLock { $0.values.reduce(0) { $0 + $1.count } } }
    }

    func testAPipelinedCallToADeadLetterTopicWithAnIllegalHeaderQueuesNothing() async throws {
        let bus = try await makeBus()
        let topic = NATSTestEnvironment.uniqueTopic()
        let arrivals = Arrivals()
        let letters = try await bus.subscribe(topic: topic + ".dlq", group: "g-\(topic)-dlq") { arrivals.append($0) }
        var illegal = Self.message(topic + ".dlq", key: "k", 2)
        illegal.headers.append(MessageHeader(name: "X-Note", value: "line\r\nbreak"))
        var reserved = Self.message(topic + ".dlq", key: "k", 3)
        reserved.headers.append(MessageHeader(name: "X-Key", value: "other"))
        for refused in [illegal, reserved] {
            let error = await NATSTestEnvironment.failure { () async throws(EventBusError) in
                _ = try await bus.publishPipelined([Self.message(topic + ".dlq", key: "k", 1), refused])
            }
            XCTAssertEqual(error?.code, .invalidArgument, "a call with a header NATS cannot carry was queued")
        }
        // A sentinel behind them: once it arrived, anything queued by the refused calls had arrived too.
        try await bus.publishPipelined([Self.message(topic + ".dlq", key: "k", 99)]).acknowledged()
        try await NATSTestEnvironment.waitUntil("the sentinel") { arrivals.all["k"]?.contains(99) == true }
        XCTAssertEqual(arrivals.all["k"], [99], "messages of a refused pipelined call were delivered")
        // A call mixing the topic and its dead letters, unawaited behind another: each side in order.
        let regular = Arrivals()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { regular.append($0) }
        let first = try await bus.publishPipelined([
            Self.message(topic, key: "m", 0), Self.message(topic + ".dlq", key: "m", 100),
            Self.message(topic, key: "m", 1), Self.message(topic + ".dlq", key: "m", 101),
        ])
        let second = try await bus.publishPipelined([
            Self.message(topic + ".dlq", key: "m", 102), Self.message(topic, key: "m", 2),
        ])
        try await first.acknowledged()
        try await second.acknowledged()
        try await NATSTestEnvironment.waitUntil("both sides") {
            regular.all["m"]?.count == 3 && arrivals.all["m"]?.count == 3
        }
        XCTAssertEqual(regular.all["m"], [0, 1, 2])
        XCTAssertEqual(arrivals.all["m"], [100, 101, 102])
        await subscription.close()
        await letters.close()
        await bus.shutdown()
    }

    func testAPipelinedCallToADeadLetterTopicReturnsBeforeItsAcknowledgements() async throws {
        let server = try NATSTestServer()
        let bus = try await makeBus(url: server.url)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publishPipelined([Self.message(topic, key: "k", 0)]).acknowledged()
        server.pause()
        let receipt = try await bus.publishPipelined([Self.message(topic + ".dlq", key: "k", 1)])
        XCTAssertFalse(receipt.isSettled, "the call waited for the PubAck of a paused server")
        server.resume()
        try await receipt.acknowledged()
        await bus.shutdown()
        server.stop()
    }

    func testACallWithAMessageNATSCannotCarryInTheMiddleQueuesNothing() async throws {
        let bus = try await makeBus()
        let topic = NATSTestEnvironment.uniqueTopic()
        let arrivals = Arrivals()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        var reserved = Self.message(topic, key: "k", 2)
        reserved.headers.append(MessageHeader(name: "X-Key", value: "other"))
        var lineBreak = Self.message(topic, key: "k", 2)
        lineBreak.headers.append(MessageHeader(name: "X-Note", value: "a\nb"))
        var badName = Self.message(topic, key: "k", 2)
        badName.headers.append(MessageHeader(name: "X Note:", value: "v"))
        let spacedKey = Self.message(topic, key: " k", 2)
        var oversized = Self.message(topic, key: "k", 2)
        oversized.payload = Array(repeating: UInt8(ascii: "7"), count: bus.maxMessageBytes)
        for (index, refused) in [reserved, lineBreak, badName, spacedKey, oversized].enumerated() {
            let call = [Self.message(topic, key: "k", 10 + index), refused, Self.message(topic, key: "k", 20 + index)]
            let error = await Self.pipelinedFailure(bus, call)
            XCTAssertEqual(error?.code, .invalidArgument, "refused message \(index) was queued")
        }
        try await bus.publishPipelined([Self.message(topic, key: "k", 99)]).acknowledged()
        try await NATSTestEnvironment.waitUntil("the sentinel") { arrivals.all["k"]?.contains(99) == true }
        XCTAssertEqual(arrivals.all["k"], [99], "messages of a refused pipelined call were delivered")
        XCTAssertNil(arrivals.all[" k"])
        await subscription.close()
        await bus.shutdown()
    }

    func testCallsLargerThanMaxPendingFromManyTasksAllArriveInOrder() async throws {
        let bus = try await makeBus(maxPending: 8)
        let topic = NATSTestEnvironment.uniqueTopic()
        let arrivals = Arrivals()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        let tasks = 6
        let calls = 20
        // Task t's calls carry 1, 5 and 37 messages in turn: smaller and far larger than the window.
        let sizes = [1, 5, 37]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var receipts: [PublishReceipt] = []
                    var next = 0
                    for call in 0..<calls {
                        let size = sizes[(call + task) % sizes.count]
                        let messages = (next..<next + size).map { Self.message(topic, key: "key-\(task)", $0) }
                        next += size
                        receipts.append(try await bus.publishPipelined(messages))
                    }
                    for receipt in receipts { try await receipt.acknowledged() }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(bus.pipelineWindow.outstanding, 0)
        let expected = (0..<tasks).reduce(0) { total, task in
            total + (0..<calls).reduce(0) { $0 + sizes[($1 + task) % sizes.count] }
        }
        try await NATSTestEnvironment.waitUntil("every message", timeout: .seconds(60)) { arrivals.count >= expected }
        for task in 0..<tasks {
            let seen = arrivals.all["key-\(task)"] ?? []
            XCTAssertEqual(seen, Array(0..<seen.count), "key-\(task) out of order or with gaps")
        }
        XCTAssertEqual(arrivals.count, expected)
        await subscription.close()
        await bus.shutdown()
    }

    func testTasksCancelledWhileTheirCallsWaitForRoomLeaveEveryCallWholeOrAbsent() async throws {
        let bus = try await makeBus(maxPending: 16)
        let topic = NATSTestEnvironment.uniqueTopic()
        let arrivals = Arrivals()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        let queued = Shared<[String: [Int]]>([:])
        let cancelledCalls = Counter()
        let tasks = 8
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    var next = 0
                    for _ in 0..<60 {
                        let size = Int.random(in: 1...20, using: &generator)
                        let messages = (next..<next + size).map { Self.message(topic, key: "key-\(task)", $0) }
                        next += size
                        if let error = await Self.pipelinedFailure(bus, messages) {
                            XCTAssertEqual(error.code, .cancelled)
                            cancelledCalls.add()
                        } else {
                            queued.withLock {
                                $0["key-\(task)", default: []] += messages.map {
                                    Int(String(decoding: $0.payload, as: UTF8.self))!
                                }
                            }
                        }
                    }
                }
            }
            // Cancel every task part way: its later calls throw cancelled, at once or while waiting for room.
            try? await NATSTestEnvironment.waitUntil("calls under way") { arrivals.count >= 100 }
            group.cancelAll()
        }
        XCTAssertGreaterThan(cancelledCalls.current, 0, "the cancellation came after every call")
        let expected = queued.withLock { $0 }
        let total = expected.values.reduce(0) { $0 + $1.count }
        try await NATSTestEnvironment.waitUntil("every queued message", timeout: .seconds(60)) {
            arrivals.count >= total
        }
        try await NATSTestEnvironment.waitUntil("the window empties") { bus.pipelineWindow.outstanding == 0 }
        XCTAssertEqual(bus.pipelineWindow.waiting, 0)
        for (key, messages) in expected {
            XCTAssertEqual(arrivals.all[key], messages, "\(key): a cancelled call left part of itself, or order broke")
        }
        XCTAssertEqual(arrivals.count, total)
        try await bus.publishPipelined((0..<16).map { Self.message(topic, key: "after", $0) }).acknowledged()
        await subscription.close()
        await bus.shutdown()
    }

    func testACallCancelledWhileWaitingForRoomQueuesNothingAndTheWindowStaysUsable() async throws {
        let server = try NATSTestServer()
        let bus = try await makeBus(maxPending: 4, url: server.url)
        let topic = NATSTestEnvironment.uniqueTopic()
        // Provision the stream, then pause the server so nothing is acknowledged: the window stays full.
        try await bus.publishPipelined([Self.message(topic, key: "k", 0)]).acknowledged()
        server.pause()
        let first = try await bus.publishPipelined((1...4).map { Self.message(topic, key: "k", $0) })
        let fifth = [Self.message(topic, key: "k", 5)]
        let cancelled = try await withThrowingTaskGroup(of: EventBusError?.self) { group -> EventBusError? in
            group.addTask { await Self.pipelinedFailure(bus, fifth) }
            try await NATSTestEnvironment.waitUntil("the second call waits for room") {
                bus.pipelineWindow.waiting == 1
            }
            group.cancelAll()
            return try await group.next() ?? nil
        }
        XCTAssertEqual(cancelled?.code, .cancelled)
        XCTAssertEqual(bus.pipelineWindow.waiting, 0)
        server.resume()
        // The paused PubAcks come late or never: either way the receipt settles within the ack timeout.
        let started = ContinuousClock.now
        _ = await NATSTestEnvironment.failure { () async throws(EventBusError) in try await first.acknowledged() }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10))
        try await NATSTestEnvironment.waitUntil("the window empties") { bus.pipelineWindow.outstanding == 0 }
        try await bus.publishPipelined([Self.message(topic, key: "k", 6)]).acknowledged()
        let arrivals = Arrivals()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        try await NATSTestEnvironment.waitUntil("the last message") { arrivals.all["k"]?.contains(6) == true }
        XCTAssertFalse(arrivals.all["k"]?.contains(5) ?? true, "the cancelled call was queued")
        await subscription.close()
        await bus.shutdown()
        server.stop()
    }

    func testUnawaitedReceiptsGiveTheirRoomBack() async throws {
        let bus = try await makeBus(maxPending: 16)
        let topic = NATSTestEnvironment.uniqueTopic()
        for call in 0..<200 {
            _ = try await bus.publishPipelined((0..<5).map { Self.message(topic, key: "k\(call % 7)", call * 5 + $0) })
        }
        try await NATSTestEnvironment.waitUntil("the window empties") { bus.pipelineWindow.outstanding == 0 }
        let receipt = try await bus.publishPipelined((0..<16).map { Self.message(topic, key: "last", $0) })
        try await receipt.acknowledged()
        await bus.shutdown()
    }

    func testCallsLargerThanNATSWriteBufferFromManyTasksAllArriveInOrder() async throws {
        // A caller sends inline only what fits in half of nats.c's 32 KiB write buffer; each call
        // here carries 40 KiB, so every call is split between its caller and the publishing
        // thread, while other tasks' calls queue behind or go inline after it.
        let bus = try await makeBus()
        let topic = NATSTestEnvironment.uniqueTopic()
        let arrivals = Arrivals()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        let tasks = 4
        let calls = 10
        let perCall = 40
        // Leading zeros pad the payload to 1 KiB and still read as the index.
        let padding = String(repeating: "0", count: 1024)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var receipts: [PublishReceipt] = []
                    for call in 0..<calls {
                        let messages = (call * perCall..<(call + 1) * perCall).map { index in
                            OutgoingMessage(
                                topic: topic, key: "key-\(task)", payload: Array((padding + String(index)).utf8))
                        }
                        if call % 3 == 2 {
                            try await bus.publish(messages)
                        } else {
                            receipts.append(try await bus.publishPipelined(messages))
                        }
                    }
                    for receipt in receipts { try await receipt.acknowledged() }
                }
            }
            try await group.waitForAll()
        }
        let expected = tasks * calls * perCall
        try await NATSTestEnvironment.waitUntil("every message", timeout: .seconds(60)) { arrivals.count >= expected }
        for task in 0..<tasks {
            XCTAssertEqual(
                arrivals.all["key-\(task)"], Array(0..<calls * perCall), "key-\(task) out of order or with gaps")
        }
        XCTAssertEqual(arrivals.count, expected)
        await subscription.close()
        await bus.shutdown()
    }

    func testMixedAwaitedAndPipelinedCallsFromOneTaskKeepTheirOrder() async throws {
        let bus = try await makeBus(maxPending: 32)
        let topic = NATSTestEnvironment.uniqueTopic()
        let arrivals = Arrivals()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
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
        try await NATSTestEnvironment.waitUntil("every message") { arrivals.count >= 300 }
        for key in 0..<3 {
            XCTAssertEqual(arrivals.all["k\(key)"], Array(stride(from: key, to: 300, by: 3)))
        }
        await subscription.close()
        await bus.shutdown()
    }

    func testShutdownWithThousandsOutstandingSettlesEveryReceiptAndLosesNothingReportedStored() async throws {
        let bus = try await makeBus(maxPending: 256)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publishPipelined([Self.message(topic, key: "warm", 0)]).acknowledged()
        let acknowledged = Shared<Set<String>>([])
        let codes = Shared<[EventBusError.Code: Int]>([:])
        let callsStarted = Counter()
        let shutDownCalls = Counter()
        let publishers = (0..<6).map { task in
            Task {
                var receipts: [(PublishReceipt, [String])] = []
                for call in 0..<400 {
                    let messages = (0..<10).map { Self.message(topic, key: "key-\(task)", call * 10 + $0) }
                    callsStarted.add()
                    do throws(EventBusError) {
                        receipts.append((try await bus.publishPipelined(messages), messages.map(\.headers[0].value)))
                    } catch {
                        XCTAssertEqual(error.code, .shutDown, "a call after shutdown threw \(error)")
                        shutDownCalls.add()
                        break
                    }
                }
                for (receipt, ids) in receipts {
                    if let error = await NATSTestEnvironment.failure({ () async throws(EventBusError) in
                        try await receipt.acknowledged()
                    }) {
                        codes.withLock { $0[error.code, default: 0] += 1 }
                    } else {
                        acknowledged.withLock { $0.formUnion(ids) }
                    }
                }
            }
        }
        try await NATSTestEnvironment.waitUntil("calls under way") { callsStarted.current >= 300 }
        let shutdownStart = ContinuousClock.now
        await bus.shutdown()
        for publisher in publishers {
            await publisher.value
        }
        XCTAssertLessThan(ContinuousClock.now - shutdownStart, .seconds(20), "receipts settled too late")
        for code in codes.withLock({ $0.keys }) {
            XCTAssertTrue([.shutDown, .timeout].contains(code), "unexpected receipt failure \(code)")
        }
        // Every acknowledged message is in the stream.
        let reader = try await makeBus()
        let arrivals = Arrivals()
        let stored = Shared<Set<String>>([])
        let subscription = try await reader.subscribe(topic: topic, group: "g-\(topic)") { message in
            if let id = message.headers.first(where: { $0.name == "X-Event-ID" })?.value {
                stored.withLock { _ = $0.insert(id) }
            }
            arrivals.append(message)
        }
        let expected = acknowledged.withLock { $0 }
        try await NATSTestEnvironment.waitUntil("every acknowledged message", timeout: .seconds(60)) {
            stored.withLock { expected.isSubset(of: $0) }
        }
        for (key, seen) in arrivals.all where key != "warm" {
            XCTAssertEqual(seen, seen.sorted(), "\(key) out of order")
        }
        await subscription.close()
        await reader.shutdown()
    }

    func testShutdownWithTheServerPausedSettlesEveryReceiptAndFailsCallsWaitingForRoom() async throws {
        let server = try NATSTestServer()
        let bus = try await makeBus(maxPending: 32, url: server.url)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publishPipelined([Self.message(topic, key: "k", 0)]).acknowledged()
        server.pause()
        var receipts: [PublishReceipt] = []
        for call in 0..<4 {
            receipts.append(
                try await bus.publishPipelined((0..<8).map { Self.message(topic, key: "k", call * 8 + $0) }))
        }
        let late = [Self.message(topic, key: "k", 1000)]
        let (waiterError, took) = try await withThrowingTaskGroup(of: EventBusError?.self) {
            group -> (EventBusError?, Duration) in
            group.addTask { await Self.pipelinedFailure(bus, late) }
            try await NATSTestEnvironment.waitUntil("a call waits for room") { bus.pipelineWindow.waiting == 1 }
            let started = ContinuousClock.now
            await bus.shutdown()
            let error = try await group.next() ?? nil
            for receipt in receipts {
                _ = await NATSTestEnvironment.failure { () async throws(EventBusError) in
                    try await receipt.acknowledged()
                }
            }
            return (error, ContinuousClock.now - started)
        }
        XCTAssertEqual(waiterError?.code, .shutDown)
        XCTAssertTrue(receipts.allSatisfy(\.isSettled))
        XCTAssertLessThan(took, .seconds(15), "shutdown or the receipts hung with the server paused")
        server.resume()
        server.stop()
    }

    func testReceiptsSettleWithinTheAckTimeoutWhenTheBrokerStopsAndWorkAgainAfterItReturns() async throws {
        let server = try NATSTestServer()
        let metrics = TestMetrics()
        let bus = try await makeBus(maxPending: 64, url: server.url, metrics: metrics)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publishPipelined([Self.message(topic, key: "k", 0)]).acknowledged()
        server.pause()
        var receipts: [PublishReceipt] = []
        var index = 1
        // More than the window: the later calls wait for room the stalled acks never give back until
        // the ack timeout fails them.
        for _ in 0..<20 {
            receipts.append(try await bus.publishPipelined((0..<10).map { Self.message(topic, key: "k", index + $0) }))
            index += 10
        }
        server.stop()
        let started = ContinuousClock.now
        var failures = 0
        for receipt in receipts {
            if await NATSTestEnvironment.failure({ () async throws(EventBusError) in try await receipt.acknowledged() })
                != nil
            {
                failures += 1
            }
        }
        XCTAssertGreaterThan(failures, 0)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(20), "receipts hung past the ack timeout")
        // Failed receipts are not silent: each failed call counts its messages as failed sends.
        let failedSends = try metrics.expectCounter(
            "eventbus_messages_sent_total", [("backend", "nats"), ("topic", topic), ("outcome", "failure")])
        XCTAssertEqual(Int(failedSends.totalValue), failures * 10)
        try server.start()
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let error = await NATSTestEnvironment.failure { () async throws(EventBusError) in
                try await bus.publishPipelined([Self.message(topic, key: "k", 1000)]).acknowledged()
            }
            guard let error else { break }
            XCTAssertTrue(error.isRetriable, "\(error)")
            guard ContinuousClock.now < deadline else { return XCTFail("no publish succeeded after the restart") }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(bus.pipelineWindow.waiting, 0)
        await bus.shutdown()
        server.stop()
    }
}

/// A value tasks can share.
private final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}
