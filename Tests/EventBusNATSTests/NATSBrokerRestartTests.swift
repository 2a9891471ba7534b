import EventBus
import EventBusNATS
import Synchronization
import XCTest

/// Runs against a nats-server of its own, which it stops and starts.
final class NATSBrokerRestartTests: XCTestCase {
    private func configuration(_ server: NATSTestServer) -> NATSConfiguration {
        var configuration = NATSTestEnvironment.configuration(url: server.url)
        configuration.publish.ackTimeout = .seconds(2)
        configuration.reconnect.wait = .milliseconds(100)
        return configuration
    }

    func testEveryMessageHandledAtLeastOnceWhenBrokerRestartsMidStream() async throws {
        let server = try NATSTestServer()
        let bus = try await NATSEventBus.connect(configuration(server))
        let topic = NATSTestEnvironment.uniqueTopic()
        let total = 50_000
        let seen = Mutex<[Bool]>([Bool](repeating: false, count: total))
        let distinct = Atomic<Int>(0)
        let duplicates = Atomic<Int>(0)
        let subscription = try await bus.subscribe(topic: topic, group: "restart") { message in
            guard let index = Int(String(decoding: message.payload, as: UTF8.self)) else { return }
            let first = seen.withLock { seen -> Bool in
                defer { seen[index] = true }
                return !seen[index]
            }
            if first { distinct.add(1, ordering: .relaxed) } else { duplicates.add(1, ordering: .relaxed) }
        }
        let published = Atomic<Int>(0)
        let retries = Atomic<Int>(0)
        let publisher = Task {
            for start in stride(from: 0, to: total, by: 500) {
                let batch = (start..<min(start + 500, total)).map { index in
                    OutgoingMessage(
                        topic: topic, headers: [MessageHeader(name: "X-Event-ID", value: "\(topic)-\(index)")],
                        payload: Array(String(index).utf8))
                }
                while true {
                    do {
                        try await bus.publish(batch)
                        break
                    } catch  where error.isRetriable {
                        // Not acknowledged: publish again; the server drops copies it already stored.
                        retries.add(1, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                published.add(batch.count, ordering: .relaxed)
            }
        }
        try await NATSTestEnvironment.waitUntil("a fifth published") { published.load(ordering: .relaxed) >= total / 5 }
        try server.restart()
        try await publisher.value
        try await NATSTestEnvironment.waitUntil("every message handled", timeout: .seconds(120)) {
            distinct.load(ordering: .relaxed) == total
        }
        let health = await bus.health()
        print(
            "broker restart: \(total) published, \(distinct.load(ordering: .relaxed)) handled, "
                + "\(duplicates.load(ordering: .relaxed)) duplicates, \(retries.load(ordering: .relaxed)) batch retries, "
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
            do {
                try await bus.publish(
                    OutgoingMessage(
                        topic: topic, headers: [MessageHeader(name: "X-Event-ID", value: "outage-\(topic)")],
                        payload: [2]))
                recovered = true
            } catch  where error.isRetriable {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        XCTAssertTrue(recovered, "publishing never recovered after the broker came back")
        let health = await bus.health()
        XCTAssertEqual(health.status, .healthy)
        await bus.shutdown()
    }
}
