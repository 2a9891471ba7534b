import EventBus
import EventBusNATS
import Foundation
import Synchronization
import XCTest

/// Attacks on the inline send (a `publish` call sending its own messages when nothing is queued or
/// being sent): a tiny in-flight limit, sizes around the inline budget, dead letters, shutdown racing
/// the callers, and a paused server whose socket fills while callers keep publishing.
final class NATSInlinePublishAttackTests: XCTestCase {
    private func makeBus(maxPending: Int = 4096, url: String? = nil) async throws -> NATSEventBus {
        let url = try url ?? NATSTestEnvironment.requireBroker()
        var configuration = NATSTestEnvironment.configuration(url: url)
        configuration.publish.maxPending = maxPending
        configuration.publish.ackTimeout = .seconds(2)
        configuration.reconnect.wait = .milliseconds(100)
        return try await NATSEventBus.connect(configuration)
    }

    /// A message whose payload is `<index>|` padded to `size` bytes.
    private static func message(_ topic: String, key: String?, _ index: Int, size: Int = 0) -> OutgoingMessage {
        var payload = Array("\(index)|".utf8)
        if size > payload.count { payload += [UInt8](repeating: UInt8(ascii: "x"), count: size - payload.count) }
        return OutgoingMessage(
            topic: topic, key: key,
            headers: [MessageHeader(name: "X-Event-ID", value: "\(topic)-\(key ?? "-")-\(index)")], payload: payload)
    }

    /// Records each key's indices (keyless under "") in arrival order.
    private final class Arrivals: Sendable {
        private let values = Mutex<[String: [Int]]>([:])
        func append(_ message: ReceivedMessage) {
            let text = message.payload.prefix { $0 != UInt8(ascii: "|") }
            let index = Int(String(decoding: text, as: UTF8.self)) ?? -1
            values.withLock { $0[message.key ?? "", default: []].append(index) }
        }
        var all: [String: [Int]] { values.withLock { $0 } }
        var count: Int { values.withLock { $0.values.reduce(0) { $0 + $1.count } } }
    }

    /// Checks what each key stored (its numbers as read back, the sentinel last and dropped): in
    /// publish order, none twice, and every acknowledged number among them. Returns how many each
    /// key stored.
    @discardableResult
    private static func assertStored(
        _ seen: [String: [Int]], acknowledged: [String: Set<Int>], keys: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) -> [String: Int] {
        var counts: [String: Int] = [:]
        for key in keys {
            let stored = (seen[key] ?? []).dropLast()
            XCTAssertEqual(
                Array(stored), stored.sorted(), "\(key): stored out of publish order", file: file, line: line)
            XCTAssertEqual(Set(stored).count, stored.count, "\(key): stored twice", file: file, line: line)
            let lost = (acknowledged[key] ?? []).subtracting(stored)
            XCTAssertTrue(
                lost.isEmpty, "\(key): acknowledged but not stored: \(lost.sorted().prefix(10))", file: file, line: line
            )
            counts[key] = stored.count
        }
        return counts
    }

    /// A value tasks share.
    private final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
        var current: Value { value.withLock { $0 } }
    }

    func testTinyMaxPendingWithSizesAroundTheInlineBudgetKeepsEveryKeysOrderOnTopicAndDeadLetters() async throws {
        // Sizes below, at and above half of nats.c's 32 KiB write buffer, and one far above: calls
        // are split between caller and thread at every message, and at the limit of 1 or 2 in flight.
        let sizes = [8, 15_900, 16_300, 3_000, 20_000, 200 * 1024, 100]
        for maxPending in [1, 2] {
            let bus = try await makeBus(maxPending: maxPending)
            let topic = NATSTestEnvironment.uniqueTopic() + "-\(maxPending)"
            let regular = Arrivals()
            let letters = Arrivals()
            let s1 = try await bus.subscribe(topic: topic, group: "g-\(topic)") { regular.append($0) }
            let s2 = try await bus.subscribe(topic: topic + ".dlq", group: "g-\(topic)-dlq") { letters.append($0) }
            let tasks = 4
            let calls = 12
            // Per task: indices of keyed messages per (topic, key); keyless ones counted by index.
            let expectedKeyless = Shared<[String: [Int]]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var receipts: [PublishReceipt] = []
                        var next = [topic: 0, topic + ".dlq": 0]
                        var keyless: [String: [Int]] = [:]
                        for call in 0..<calls {
                            let target = call % 4 == 3 ? topic + ".dlq" : topic
                            let count = 1 + (call + task) % 5
                            var messages: [OutgoingMessage] = []
                            for item in 0..<count {
                                let size = sizes[(call * 3 + item + task) % sizes.count]
                                if (call + item) % 3 == 2 {
                                    // Keyless: indices above 1_000_000 so they never mix with keyed ones.
                                    let index = 1_000_000 * (task + 1) + call * 10 + item
                                    keyless[target, default: []].append(index)
                                    messages.append(Self.message(target, key: nil, index, size: size))
                                } else {
                                    messages.append(Self.message(target, key: "k\(task)", next[target]!, size: size))
                                    next[target]! += 1
                                }
                            }
                            if call % 2 == 0 {
                                try await bus.publish(messages)
                            } else {
                                receipts.append(try await bus.publishPipelined(messages))
                            }
                        }
                        for receipt in receipts { try await receipt.acknowledged() }
                        let counts = next
                        let mine = keyless
                        expectedKeyless.update { all in
                            for (target, indices) in mine { all[target, default: []] += indices }
                            all["count-\(task)-\(topic)"] = [counts[topic]!]
                            all["count-\(task)-\(topic).dlq"] = [counts[topic + ".dlq"]!]
                        }
                    }
                }
                try await group.waitForAll()
            }
            let expected = expectedKeyless.current
            for (arrivals, target) in [(regular, topic), (letters, topic + ".dlq")] {
                let keyed = (0..<tasks).reduce(0) { $0 + expected["count-\($1)-\(target)"]![0] }
                let total = keyed + (expected[target]?.count ?? 0)
                try await NATSTestEnvironment.waitUntil("every message on \(target)", timeout: .seconds(60)) {
                    arrivals.count >= total
                }
                let seen = arrivals.all
                for task in 0..<tasks {
                    XCTAssertEqual(
                        seen["k\(task)"], Array(0..<expected["count-\(task)-\(target)"]![0]),
                        "maxPending \(maxPending), \(target), k\(task): out of order, missing or repeated")
                }
                XCTAssertEqual(
                    (seen[""] ?? []).sorted(), (expected[target] ?? []).sorted(),
                    "maxPending \(maxPending), \(target): keyless messages missing or repeated")
                XCTAssertEqual(arrivals.count, total)
            }
            await s1.close()
            await s2.close()
            await bus.shutdown()
        }
    }

    func testShutdownRacingInlineSendsSettlesEveryCallAndStoresEveryAcknowledgedMessageInOrder() async throws {
        let bus = try await makeBus(maxPending: 8)
        let reader = try await makeBus()
        let topic = NATSTestEnvironment.uniqueTopic()
        let arrivals = Arrivals()
        let subscription = try await reader.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        let tasks = 6
        let sent = Counter()
        // Per task: the indices whose call was acknowledged, and whether every call settled.
        let acknowledged = Shared<[String: Set<Int>]>([:])
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    let key = "k\(task)"
                    var receipts: [(PublishReceipt, Range<Int>)] = []
                    var index = 0
                    var acked: Set<Int> = []
                    while true {
                        let range = index..<index + 1 + index % 3
                        let messages = range.map { Self.message(topic, key: key, $0, size: $0 % 7 == 0 ? 17_000 : 64) }
                        index = range.upperBound
                        if task % 2 == 0 {
                            let error = await NATSTestEnvironment.failure { () async throws(EventBusError) in
                                try await bus.publish(messages)
                            }
                            if error == nil { acked.formUnion(range) } else if error?.code == .shutDown { break }
                        } else {
                            do throws(EventBusError) {
                                receipts.append((try await bus.publishPipelined(messages), range))
                            } catch {
                                if error.code == .shutDown { break }
                            }
                        }
                        sent.add(messages.count)
                    }
                    acked.formUnion(await NATSTestEnvironment.acknowledged(receipts))
                    let mine = acked
                    acknowledged.update { $0[key] = mine }
                }
            }
            group.addTask {
                try? await NATSTestEnvironment.waitUntil("publishers under way") { sent.current >= 600 }
                await bus.shutdown()
            }
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(60), "callers or shutdown hung")
        // The publishing bus is closed: a sentinel per key from the reader lands after all it stored.
        for task in 0..<tasks {
            try await reader.publish(Self.message(topic, key: "k\(task)", 99_999_999))
        }
        try await NATSTestEnvironment.waitUntil("every sentinel", timeout: .seconds(60)) {
            let seen = arrivals.all
            return (0..<tasks).allSatisfy { seen["k\($0)"]?.last == 99_999_999 }
        }
        Self.assertStored(arrivals.all, acknowledged: acknowledged.current, keys: (0..<tasks).map { "k\($0)" })
        await subscription.close()
        await reader.shutdown()
    }

    func testCooperativePoolStaysResponsiveWhileAwaitedCallsPublishToAPausedServerUntilItsSocketIsFull()
        async throws
    {
        let calls = try await publishToAPausedServer(pipelined: false)
        XCTAssertNil(calls.stalledAfter, "no task woke for 5 s after \(calls.made) awaited calls: the pool was blocked")
        // Not asserted: an awaited call queued behind the publishing thread blocked in nats.c's
        // socket write is not failed by the ack timeout (the thread sweeps), see Docs/NATS.md.
        print("awaited calls to a paused server: \(calls.made) returned; none for 5 s: \(calls.callsStalled)")
    }

    func testCooperativePoolStaysResponsiveWhilePipelinedCallsPublishToAPausedServerUntilItsSocketIsFull()
        async throws
    {
        let calls = try await publishToAPausedServer(pipelined: true)
        XCTAssertNil(
            calls.stalledAfter, "no task woke for 5 s after \(calls.made) pipelined calls: the pool was blocked")
        // Not asserted: once 4096 are in flight a call waits for room, which the ack timeout
        // does not give back while the publishing thread is blocked in nats.c's socket write.
        print("pipelined calls to a paused server: \(calls.made) returned; none for 5 s: \(calls.callsStalled)")
    }

    /// With the server stopped (SIGSTOP) the kernel's socket buffers fill, and nats.c's flusher
    /// then blocks in its write holding the connection's lock. A caller that takes that lock on
    /// Swift's cooperative pool (one thread per core) blocks a pool thread; enough of them stall the
    /// process: no timer fires and no cancellation is seen. Four tasks publish 8 KB messages (awaited
    /// calls of 100, which time out after the 2 s ack timeout, or pipelined calls of one) for 10 s
    /// while a fifth sleeps 20 ms in a loop; a watchdog thread off the pool watches that task.
    private func publishToAPausedServer(
        pipelined: Bool
    ) async throws -> (made: Int, stalledAfter: Duration?, callsStalled: Bool) {
        let server = try NATSTestServer()
        let bus = try await makeBus(url: server.url)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publish(Self.message(topic, key: "k", 0))
        let beats = Counter()
        let stalled = Shared<Duration?>(nil)
        let stop = Shared(false)
        let calls = Counter()
        let callsStalled = Shared(false)
        server.pause()
        // Resumes the server in the end, or at a stall, which unblocks whatever waits on it.
        let watchdog = Thread {
            let started = ContinuousClock.now
            var lastBeat = beats.current
            var lastChange = ContinuousClock.now
            var lastCall = calls.current
            var lastCallChange = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(10) {
                Thread.sleep(forTimeInterval: 0.1)
                if calls.current != lastCall {
                    lastCall = calls.current
                    lastCallChange = .now
                } else if ContinuousClock.now - lastCallChange > .seconds(5) {
                    callsStalled.update { $0 = true }
                }
                if beats.current != lastBeat {
                    lastBeat = beats.current
                    lastChange = .now
                } else if ContinuousClock.now - lastChange > .seconds(5) {
                    stalled.update { $0 = lastChange - started }
                    break
                }
            }
            stop.update { $0 = true }
            server.resume()
        }
        watchdog.start()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !stop.current {
                    try? await Task.sleep(for: .milliseconds(20))
                    beats.add()
                }
            }
            for task in 0..<4 {
                group.addTask {
                    var index = 1
                    while !stop.current {
                        if pipelined {
                            _ = try? await bus.publishPipelined([
                                Self.message(topic, key: "k\(task)", index, size: 8_000)
                            ])
                            index += 1
                        } else {
                            let messages = (index..<index + 100).map {
                                Self.message(topic, key: "k\(task)", $0, size: 8_000)
                            }
                            _ = await NATSTestEnvironment.failure { () async throws(EventBusError) in
                                try await bus.publish(messages)
                            }
                            index += 100
                        }
                        calls.add()
                    }
                }
            }
        }
        await bus.shutdown()
        server.stop()
        return (calls.current, stalled.current, callsStalled.current)
    }

    func testAPipelinedCallReturnsWhileTheWindowHasRoomWhenAPausedServersSocketIsFull() async throws {
        // One task, one 8 KB message a call, paced: the calls go inline, and
        // nats.c's flusher (not the publishing thread) is the one that finds the socket full and
        // blocks in its write holding the connection's lock. A call that then sends inline must
        // not wait for that lock: the window (4096) has room, so it must return.
        let server = try NATSTestServer()
        let bus = try await makeBus(url: server.url)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publish(Self.message(topic, key: "k", 0))
        let calls = Counter()
        let inCallSince = Shared<ContinuousClock.Instant?>(nil)
        let stuck = Shared<Int?>(nil)
        let stop = Shared(false)
        server.pause()
        let watchdog = Thread {
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(12) {
                Thread.sleep(forTimeInterval: 0.1)
                if let since = inCallSince.current, ContinuousClock.now - since > .seconds(5) {
                    stuck.update { $0 = calls.current }
                    break
                }
            }
            stop.update { $0 = true }
            server.resume()
        }
        watchdog.start()
        var index = 1
        var receipts: [(Int, PublishReceipt)] = []
        while !stop.current, index < 3_500 {
            inCallSince.update { $0 = .now }
            if let receipt = try? await bus.publishPipelined([Self.message(topic, key: "k", index, size: 8_000)]) {
                receipts.append((index, receipt))
            }
            inCallSince.update { $0 = nil }
            calls.add()
            index += 1
            // Paced so that nats.c's flusher empties the buffer between calls: each goes inline.
            try await Task.sleep(for: .milliseconds(2))
        }
        stop.update { $0 = true }
        XCTAssertNil(stuck.current, "a pipelined call did not return for 5 s with the window not full")
        server.resume()
        // Every receipt settles; what was acknowledged is stored once, in publish order.
        let acknowledged = await NATSTestEnvironment.acknowledged(receipts.map { ($1, $0..<$0 + 1) }).union([0])
        let reader = try await makeBus(url: server.url)
        let arrivals = Arrivals()
        let subscription = try await reader.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        await bus.shutdown()
        try await reader.publish(Self.message(topic, key: "k", 99_999_999))
        try await NATSTestEnvironment.waitUntil("the sentinel", timeout: .seconds(60)) {
            arrivals.all["k"]?.last == 99_999_999
        }
        let stored = Self.assertStored(arrivals.all, acknowledged: ["k": acknowledged], keys: ["k"])["k"] ?? 0
        print("paused server: \(receipts.count) calls, \(acknowledged.count) acknowledged, \(stored) stored")
        await subscription.close()
        await reader.shutdown()
        server.stop()
    }

    func testServerRestartDuringInlineSendsLosesNothingAcknowledgedAndKeepsEveryKeysOrder() async throws {
        let server = try NATSTestServer()
        let bus = try await makeBus(maxPending: 64, url: server.url)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publish(Self.message(topic, key: "warm-up", 0))
        let sent = Counter()
        let stop = Shared(false)
        let acknowledged = Shared<[String: Set<Int>]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<3 {
                group.addTask {
                    let key = "k\(task)"
                    var receipts: [(PublishReceipt, Range<Int>)] = []
                    var acked: Set<Int> = []
                    var index = 0
                    while !stop.current {
                        let range = index..<index + 1 + index % 2
                        index = range.upperBound
                        let messages = range.map { Self.message(topic, key: key, $0, size: $0 % 5 == 0 ? 12_000 : 200) }
                        if task == 0 {
                            if await NATSTestEnvironment.failure({ () async throws(EventBusError) in
                                try await bus.publish(messages)
                            })
                                == nil
                            {
                                acked.formUnion(range)
                            }
                        } else if let receipt = try? await bus.publishPipelined(messages) {
                            receipts.append((receipt, range))
                        }
                        sent.add(range.count)
                        await Task.yield()
                    }
                    acked.formUnion(await NATSTestEnvironment.acknowledged(receipts))
                    let mine = acked
                    acknowledged.update { $0[key] = mine }
                }
            }
            try await NATSTestEnvironment.waitUntil("publishers under way") { sent.current >= 500 }
            try server.restart()
            let after = sent.current
            try await NATSTestEnvironment.waitUntil("publishing after the restart", timeout: .seconds(60)) {
                sent.current >= after + 500
            }
            stop.update { $0 = true }
            try await group.waitForAll()
        }
        let reader = try await makeBus(url: server.url)
        let arrivals = Arrivals()
        let subscription = try await reader.subscribe(topic: topic, group: "g-\(topic)") { arrivals.append($0) }
        await bus.shutdown()
        for task in 0..<3 { try await reader.publish(Self.message(topic, key: "k\(task)", 99_999_999)) }
        try await NATSTestEnvironment.waitUntil("every sentinel", timeout: .seconds(60)) {
            let seen = arrivals.all
            return (0..<3).allSatisfy { seen["k\($0)"]?.last == 99_999_999 }
        }
        let stored = Self.assertStored(arrivals.all, acknowledged: acknowledged.current, keys: (0..<3).map { "k\($0)" })
        for (key, count) in stored.sorted(by: { $0.key < $1.key }) {
            print("\(key): \(acknowledged.current[key]?.count ?? 0) acknowledged, \(count) stored")
        }
        await subscription.close()
        await reader.shutdown()
        server.stop()
    }
}
