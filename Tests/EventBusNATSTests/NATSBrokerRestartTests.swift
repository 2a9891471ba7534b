import EventBus
import EventBusNATS
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
