import EventBusConformance
import Foundation
import XCTest

/// Decides whether a broker-backed test runs: skips it with a clear message when the broker's port
/// does not answer, or fails it instead when `EVENTBUS_REQUIRE_BROKERS=1` (as `scripts/test.sh` sets).
enum BrokerRequirement {
    static func require(_ name: String, address: String, file: StaticString = #filePath, line: UInt = #line) throws {
        if BrokerProbe.accepts(address: address) { return }
        let text = "\(name) at \(address) is unreachable; start it with scripts/brokers.sh start"
        if ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" {
            XCTFail(text + " (EVENTBUS_REQUIRE_BROKERS=1)", file: file, line: line)
        }
        throw XCTSkip(text)
    }

    static var kafkaAddress: String {
        let brokers = ProcessInfo.processInfo.environment["EVENTBUS_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        return brokers.split(separator: ",").first.map(String.init) ?? brokers
    }

    static var natsAddress: String {
        let url = ProcessInfo.processInfo.environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"
        return url.replacingOccurrences(of: "nats://", with: "")
    }
}
