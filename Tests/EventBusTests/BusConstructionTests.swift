import EventBus
import Logging
import Synchronization
import XCTest

/// Log lines kept in memory, for tests that check where a logger's lines went.
final class CapturedLog: Sendable {
    private let lines = Mutex<[(label: String, level: Logger.Level, message: String)]>([])

    /// A logger whose lines land here.
    func logger(label: String) -> Logger {
        Logger(label: label) { label in CapturingLogHandler(label: label, log: self) }
    }

    func append(label: String, level: Logger.Level, message: String) {
        lines.withLock { $0.append((label, level, message)) }
    }

    /// The lines whose message contains `text`.
    func lines(containing text: String) -> [(label: String, level: Logger.Level, message: String)] {
        lines.withLock { $0.filter { $0.message.contains(text) } }
    }
}

struct CapturingLogHandler: LogHandler {
    let label: String
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append(label: label, level: event.level, message: "\(event.message)")
    }
}

final class BusConstructionTests: XCTestCase {
    func testConnectValidatesLikeTheOtherBackends() async {
        do {
            _ = try await InMemoryEventBus.connect(
                InMemoryConfiguration(pool: ActorPoolConfiguration(actorCount: 0)))
            XCTFail("an actor count of 0 should be refused")
        } catch {
            XCTAssertEqual(error.code, .invalidConfiguration)
            XCTAssertEqual(error.field, "actorCount")
        }
    }

    /// One logger setting: the bus's `logger` also receives its actor pools' lines (here the
    /// dead-letter warning), unless the pool configuration has a logger of its own.
    func testTheBusLoggerReachesThePool() async throws {
        let busLog = CapturedLog()
        let poolLog = CapturedLog()
        for ownPoolLogger in [false, true] {
            var configuration = InMemoryConfiguration(logger: busLog.logger(label: "bus"))
            configuration.pool.restartBackoff = .milliseconds(1)
            if ownPoolLogger { configuration.pool.logger = poolLog.logger(label: "pool") }
            let bus = try await InMemoryEventBus.connect(configuration)
            let topic = ownPoolLogger ? "logged-own" : "logged-inherited"
            let subscription = try await bus.subscribe(topic: topic, group: "g") { _ in
                struct AlwaysFails: Error {}
                throw AlwaysFails()
            }
            try await bus.publish(OutgoingMessage(topic: topic, key: "k", payload: [1]))
            let target = ownPoolLogger ? poolLog : busLog
            let deadline = ContinuousClock.now + .seconds(10)
            while target.lines(containing: "dead-lettered").isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            await subscription.close()
            await bus.shutdown()
            XCTAssertFalse(target.lines(containing: "dead-lettered").isEmpty, "own pool logger: \(ownPoolLogger)")
        }
        // The pool's own logger took its lines; the bus logger saw only the first bus's.
        XCTAssertEqual(busLog.lines(containing: "dead-lettered").count, 1)
        XCTAssertEqual(poolLog.lines(containing: "dead-lettered").count, 1)
    }
}
