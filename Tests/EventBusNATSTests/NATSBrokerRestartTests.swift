import EventBus
import EventBusNATS
import Foundation
import Synchronization
import XCTest

/// Runs against a nats-server of its own, which it stops and starts.
final class NATSBrokerRestartTests: XCTestCase {
    /// Runs `body` and returns the error it threw, if any.
    private static func attempt(_ body: () async throws(EventBusError) -> Void) async -> EventBusError? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    private func configuration(_ server: NATSTestServer) -> NATSConfiguration {
        var configuration = NATSTestEnvironment.configuration(url: server.url)
        configuration.publish.ackTimeout = .seconds(2)
        configuration.reconnect.wait = .milliseconds(100)
        return configuration
    }

    /// Publishes `text` with `key` to `topic`, again while it fails retriably (reconnecting after a
    /// restart; the server drops a copy it already stored, by its event ID).
    private static func publishRetrying(_ bus: NATSEventBus, topic: String, key: String, _ text: String) async throws {
        let message = OutgoingMessage(
            topic: topic, key: key, headers: [MessageHeader(name: "X-Event-ID", value: "\(topic)-\(text)")],
            payload: Array(text.utf8))
        while let failure = await attempt({ () async throws(EventBusError) in try await bus.publish(message) }) {
            guard failure.isRetriable else { throw failure }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Publishes `total` numbered messages in batches, publishing a batch again while it fails retriably.
    private static func publishAll(
        bus: NATSEventBus, topic: String, total: Int, published: Counter, retries: Counter
    ) async throws {
        for start in stride(from: 0, to: total, by: 500) {
            let batch = (start..<min(start + 500, total)).map { index in
                OutgoingMessage(
                    topic: topic, headers: [MessageHeader(name: "X-Event-ID", value: "\(topic)-\(index)")],
                    payload: Array(String(index).utf8))
            }
            var failure = await attempt { () async throws(EventBusError) in try await bus.publish(batch) }
            while let error = failure {
                // Not acknowledged: publish again; the server drops copies it already stored.
                guard error.isRetriable else { throw error }
                retries.add()
                try await Task.sleep(for: .milliseconds(50))
                failure = await attempt { () async throws(EventBusError) in try await bus.publish(batch) }
            }
            published.add(batch.count)
        }
    }

    func testEveryMessageHandledAtLeastOnceWhenBrokerRestartsMidStream() async throws {
        let server = try NATSTestServer()
        let bus = try await NATSEventBus.connect(configuration(server))
        let topic = NATSTestEnvironment.uniqueTopic()
        let total = 50_000
        let seen = Marks(count: total)
        let distinct = Counter()
        let duplicates = Counter()
        let subscription = try await bus.subscribe(topic: topic, group: "restart") { message in
            guard let index = Int(String(decoding: message.payload, as: UTF8.self)) else { return }
            if seen.mark(index) { distinct.add(1) } else { duplicates.add(1) }
        }
        let published = Counter()
        let retries = Counter()
        async let publishing: Void = Self.publishAll(
            bus: bus, topic: topic, total: total, published: published, retries: retries)
        try await NATSTestEnvironment.waitUntil("a fifth published") { published.current >= total / 5 }
        try server.restart()
        try await publishing
        try await NATSTestEnvironment.waitUntil("every message handled", timeout: .seconds(120)) {
            distinct.current == total
        }
        let health = await bus.health()
        print(
            "broker restart: \(total) published, \(distinct.current) handled, "
                + "\(duplicates.current) duplicates, \(retries.current) batch retries, "
                + "reconnects \(health.details["eventbus.nats.reconnects"] ?? "?")")
        XCTAssertEqual(health.status, .healthy)
        XCTAssertGreaterThanOrEqual(Int(health.details["eventbus.nats.reconnects"] ?? "0") ?? 0, 1)
        await subscription.close()
        await bus.shutdown()
    }

    /// nats-server answers the open pulls of a consumer being deleted (`409 Consumer Deleted`) before
    /// it removes the consumer's stored state, and a consumer created under the same name in between
    /// (a member creating its vanished consumer again at once) takes up that state, an older copy,
    /// instead of the start sequence it was given. Under load
    /// `NATSEventBusTests.testMemberCreatesItsConsumersAgainWhenTheyAreDeletedUnderneath` lost that
    /// race about once in 15 runs and saw acknowledged messages handled again. Here it is certain:
    /// the consumer is deleted twice, and while the member waits out its one-second pause between
    /// recreations, an older copy of the lane's state (taken from a clean stop, when less was
    /// acknowledged) is put where the server looks for it.
    func testAcknowledgedMessagesAreNotHandledAgainWhenARecreatedConsumerTakesUpAnOlderState() async throws {
        let server = try NATSTestServer()
        var settings = configuration(server)
        // Long pulls, so a deletion always finds one open and the member hears of it (409).
        settings.consumer.fetchWait = .seconds(1)
        let bus = try await NATSEventBus.connect(settings)
        let other = try await NATSEventBus.connect(configuration(server))
        let topic = NATSTestEnvironment.uniqueTopic()
        let handled = Recorder<String>()
        let subscription = try await bus.subscribe(topic: topic, group: "stale") {
            handled.append(String(decoding: $0.payload, as: UTF8.self))
        }
        // k1 and k2 both hash to partition 0 (FNV-1a % 3): one lane, one consumer.
        func publish(_ key: String, _ text: String) async throws {
            try await Self.publishRetrying(bus, topic: topic, key: key, text)
        }
        func waitAcknowledged(_ text: String) async throws {
            try await NATSTestEnvironment.waitUntil("\(text) handled") { handled.all.contains(text) }
            try await NATSTestEnvironment.waitUntil("\(text) acknowledged on the server") {
                (try? await bus.consumerLag(topic: topic, group: "stale").total) == 0
            }
        }
        func waitRecreated(_ count: Int) async throws {
            try await NATSTestEnvironment.waitUntil("\(count) consumers created again") {
                Int(await bus.health().details["eventbus.consume.consumers_recreated"] ?? "0") ?? 0 >= count
            }
        }
        let lane = server.storeDirectory.appendingPathComponent(
            "jetstream/$G/streams/EBNATS_TESTS/obs/eventbus_\(topic)_stale_p0")
        let state = lane.appendingPathComponent("o.dat")
        try await publish("k1", "first")
        try await waitAcknowledged("first")
        // The lane's state as a clean stop writes it: "first" delivered and acknowledged.
        server.stop()
        let older = try Data(contentsOf: state)
        try server.start()
        try await publish("k2", "second")
        try await waitAcknowledged("second")
        // Deleted: the member creates its four lane consumers again at once.
        let existed = try await other.deleteGroup(topic: topic, group: "stale")
        XCTAssertTrue(existed)
        try await waitRecreated(4)
        // Deleted again, within the second the member waits before creating a consumer again; the
        // older state is where the server's store will look when the member does.
        let existedAgain = try await other.deleteGroup(topic: topic, group: "stale")
        try FileManager.default.createDirectory(at: lane, withIntermediateDirectories: true)
        try older.write(to: state)
        XCTAssertTrue(existedAgain)
        try await waitRecreated(8)
        try await publish("k1", "third")
        try await NATSTestEnvironment.waitUntil("third handled") { handled.all.contains("third") }
        XCTAssertEqual(handled.all, ["first", "second", "third"], "an acknowledged message was handled again")
        await subscription.close()
        await other.shutdown()
        await bus.shutdown()
    }

    /// A pull sent to a consumer that does not exist gets no answer at all (nats-server's own
    /// `$JS.API.>` subscription takes it, so no `503` comes either). A member whose lane consumer
    /// the server lost while it was down pulled it unanswered for ever and never handled the lane's
    /// messages again (seen: 17 pulls in 15 s, none answered); now an unanswered pull makes it ask
    /// whether the consumer exists, and it creates it again after what it acknowledged.
    func testMemberCreatesAConsumerTheServerLostAgainWhenItsPullsGoUnanswered() async throws {
        let server = try NATSTestServer()
        let bus = try await NATSEventBus.connect(configuration(server))
        let topic = NATSTestEnvironment.uniqueTopic()
        let handled = Recorder<String>()
        let subscription = try await bus.subscribe(topic: topic, group: "lost") {
            handled.append(String(decoding: $0.payload, as: UTF8.self))
        }
        try await Self.publishRetrying(bus, topic: topic, key: "k1", "first")
        try await NATSTestEnvironment.waitUntil("first handled") { handled.all.contains("first") }
        try await NATSTestEnvironment.waitUntil("first acknowledged on the server") {
            (try? await bus.consumerLag(topic: topic, group: "lost").total) == 0
        }
        // The server comes back without partition 0's consumer (k1 hashes to partition 0).
        server.stop()
        try FileManager.default.removeItem(
            at: server.storeDirectory.appendingPathComponent(
                "jetstream/$G/streams/EBNATS_TESTS/obs/eventbus_\(topic)_lost_p0"))
        try server.start()
        try await Self.publishRetrying(bus, topic: topic, key: "k1", "second")
        try await NATSTestEnvironment.waitUntil("second handled") { handled.all.contains("second") }
        XCTAssertEqual(handled.all, ["first", "second"])
        let health = await bus.health()
        XCTAssertGreaterThanOrEqual(Int(health.details["eventbus.consume.consumers_recreated"] ?? "0") ?? 0, 1)
        await subscription.close()
        await bus.shutdown()
    }

    /// A dead-letter reader pulls one durable of the dead-letter stream. The server comes back
    /// without it, so its pulls go unanswered; it must notice and create it again.
    func testDeadLetterReaderCreatesItsDurableAgainWhenItsPullsGoUnanswered() async throws {
        let server = try NATSTestServer()
        let configuration = configuration(server)
        let bus = try await NATSEventBus.connect(configuration)
        let topic = NATSTestEnvironment.uniqueTopic()
        let handled = Recorder<String>()
        let subscription = try await bus.subscribe(topic: "\(topic).dlq", group: "lost") {
            handled.append(String(decoding: $0.payload, as: UTF8.self))
        }
        try await Self.publishRetrying(bus, topic: "\(topic).dlq", key: "k1", "first")
        try await NATSTestEnvironment.waitUntil("first handled") { handled.all.contains("first") }
        server.stop()
        let durable = try NATSSubjects.deadLetterDurableName(
            prefix: configuration.consumer.durablePrefix, topic: topic, group: "lost")
        try FileManager.default.removeItem(
            at: server.storeDirectory.appendingPathComponent(
                "jetstream/$G/streams/\(configuration.effectiveDeadLetterStreamName)/obs/\(durable)"))
        try server.start()
        try await Self.publishRetrying(bus, topic: "\(topic).dlq", key: "k1", "second")
        try await NATSTestEnvironment.waitUntil("second handled") { handled.all.contains("second") }
        // Created again from the dead-letter stream's start, so "first" may come once more.
        XCTAssertEqual(handled.all.last, "second")
        let health = await bus.health()
        XCTAssertGreaterThanOrEqual(Int(health.details["eventbus.consume.consumers_recreated"] ?? "0") ?? 0, 1)
        await subscription.close()
        await bus.shutdown()
    }

    func testPublishFailsRetriablyWhenBrokerIsDownAndSucceedsAfterItReturns() async throws {
        let server = try NATSTestServer()
        let bus = try await NATSEventBus.connect(configuration(server))
        let topic = NATSTestEnvironment.uniqueTopic()
        try await bus.publish(OutgoingMessage(topic: topic, payload: [1]))
        server.stop()
        var degraded = await bus.health()
        let deadline = ContinuousClock.now + .seconds(5)
        while degraded.status == .healthy && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            degraded = await bus.health()
        }
        XCTAssertEqual(degraded.status, .degraded)
        do {
            try await bus.publish(
                OutgoingMessage(
                    topic: topic, headers: [MessageHeader(name: "X-Event-ID", value: "outage-\(topic)")], payload: [2]))
            XCTFail("a publish succeeded while the broker was down")
        } catch {
            XCTAssertTrue(error.isRetriable, "\(error)")
        }
        try server.start()
        var recovered = false
        let retryDeadline = ContinuousClock.now + .seconds(20)
        while !recovered && ContinuousClock.now < retryDeadline {
            let failure = await Self.attempt { () async throws(EventBusError) in
                try await bus.publish(
                    OutgoingMessage(
                        topic: topic, headers: [MessageHeader(name: "X-Event-ID", value: "outage-\(topic)")],
                        payload: [2]))
            }
            if let failure {
                XCTAssertTrue(failure.isRetriable, "\(failure)")
                try await Task.sleep(for: .milliseconds(100))
            } else {
                recovered = true
            }
        }
        XCTAssertTrue(recovered, "publishing never recovered after the broker came back")
        let health = await bus.health()
        XCTAssertEqual(health.status, .healthy)
        await bus.shutdown()
    }
}

/// Which numbered messages were handled; `mark` tells whether it is the first time.
private final class Marks: Sendable {
    private let seen: Mutex<[Bool]>

    init(count: Int) { seen = Mutex([Bool](repeating: false, count: count)) }

    func mark(_ index: Int) -> Bool {
        seen.withLock { seen in
            defer { seen[index] = true }
            return !seen[index]
        }
    }
}
