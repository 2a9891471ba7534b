import EventBus
import EventBusNATS
import Foundation
import Synchronization
import XCTest

/// Where the shared test broker is, and helpers every NATS test uses.
enum NATSTestEnvironment {
    /// `EVENTBUS_NATS_URL`, default `nats://127.0.0.1:4222`.
    static var url: String {
        ProcessInfo.processInfo.environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"
    }

    /// Skips (or fails, with `EVENTBUS_REQUIRE_BROKERS=1`) when the broker is unreachable.
    static func requireBroker() throws -> String {
        let url = self.url
        let port = Int(url.split(separator: ":").last.map(String.init) ?? "4222") ?? 4222
        if NATSTestServer.accepts(port: port) { return url }
        let message = "nats-server not reachable at \(url): start it with scripts/brokers.sh or set EVENTBUS_NATS_URL"
        if ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" {
            XCTFail(message)
            throw EventBusError(.connectionFailed, message)
        }
        throw XCTSkip(message)
    }

    /// A configuration on a stream of the tests' own, so other suites' streams are never touched.
    static func configuration(url: String) -> NATSConfiguration {
        var configuration = NATSConfiguration(servers: [url])
        configuration.stream.name = "EBNATS_TESTS"
        configuration.subjectPrefix = "ebnats"
        configuration.consumer.ackWait = .seconds(5)
        configuration.consumer.fetchWait = .milliseconds(200)
        configuration.pool.restartBackoff = .milliseconds(1)
        configuration.logger.logLevel = .warning
        return configuration
    }

    /// A topic no other test uses.
    static func uniqueTopic(_ name: String = #function) -> String {
        let base = name.prefix(while: { $0 != "(" }).filter { $0.isLetter || $0.isNumber }
        return "\(base.prefix(40))-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The error `body` threw, or nil: a publish's outcome as a value, for attack tests that
    /// count what was acknowledged.
    static func failure(_ body: () async throws(EventBusError) -> Void) async -> EventBusError? {
        do throws(EventBusError) {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    /// The numbers of the messages whose receipts settled without an error.
    static func acknowledged(_ receipts: [(PublishReceipt, Range<Int>)]) async -> Set<Int> {
        var acknowledged: Set<Int> = []
        for (receipt, range) in receipts {
            if await failure({ () async throws(EventBusError) in try await receipt.acknowledged() }) == nil {
                acknowledged.formUnion(range)
            }
        }
        return acknowledged
    }

    /// Waits until `condition` holds, failing after `timeout`.
    static func waitUntil(
        _ what: String, timeout: Duration = .seconds(15), file: StaticString = #filePath, line: UInt = #line,
        _ condition: () async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                XCTFail("timed out waiting for \(what)", file: file, line: line)
                throw EventBusError(.timeout, "timed out waiting for \(what)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until `condition` holds, failing after `timeout`.
    static func waitUntil(
        _ what: String, timeout: Duration = .seconds(15), file: StaticString = #filePath, line: UInt = #line,
        _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                XCTFail("timed out waiting for \(what)", file: file, line: line)
                throw EventBusError(.timeout, "timed out waiting for \(what)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A thread-safe record of what handlers saw.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
    var count: Int { values.withLock { $0.count } }
}

/// A counter handlers and tasks can share.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    @discardableResult
    func add(_ amount: Int = 1) -> Int { value.add(amount, ordering: .relaxed).newValue }
    var current: Int { value.load(ordering: .relaxed) }
}
