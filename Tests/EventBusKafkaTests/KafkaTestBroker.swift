import EventBus
import EventBusConformance
import EventBusKafka
import Logging
import XCTest

/// Finds the test broker: `EVENTBUS_KAFKA_BROKERS` (default `127.0.0.1:9092`); skips the test when
/// it is unreachable, unless `EVENTBUS_REQUIRE_BROKERS=1`, then fails it.
enum KafkaTestBroker {
    static var address: String {
        ProcessInfo.processInfo.environment["EVENTBUS_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
    }

    static func requireReachable(file: StaticString = #filePath, line: UInt = #line) throws {
        let first = address.split(separator: ",").first.map(String.init) ?? address
        let parts = first.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            XCTFail("EVENTBUS_KAFKA_BROKERS '\(address)' is not host:port", file: file, line: line)
            throw XCTSkip("bad broker address")
        }
        if BrokerProbe.accepts(host: String(parts[0]), port: port) { return }
        let text =
            "Kafka broker \(address) is unreachable (set EVENTBUS_KAFKA_BROKERS; start one with scripts/brokers.sh)"
        if ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" {
            XCTFail(text, file: file, line: line)
        }
        throw XCTSkip(text)
    }

    /// A configuration tuned for Tansu's slow group joins.
    static func configuration(
        brokers: String? = nil,
        quiet: Bool = false,
        pool: ActorPoolConfiguration = ActorPoolConfiguration(),
        adjust: (inout KafkaConfiguration) -> Void = { _ in }
    ) throws -> KafkaConfiguration {
        var logger = Logger(label: "eventbus.kafka.test")
        logger.logLevel =
            ProcessInfo.processInfo.environment["EVENTBUS_TEST_LOG"] == "1" ? .debug : (quiet ? .critical : .warning)
        var configuration = KafkaConfiguration(
            bootstrapServers: (brokers ?? address).split(separator: ",").map(String.init),
            consumer: KafkaConsumerOptions(
                sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300),
                commitInterval: .milliseconds(100), revocationTimeout: .seconds(5),
                assignmentTimeout: .seconds(30)),
            pool: pool,
            logger: logger)
        adjust(&configuration)
        try configuration.validate()
        return configuration
    }

    /// A topic name no other test (or earlier run against the same broker) uses.
    static func uniqueTopic(_ base: String) -> String {
        "\(base)-\(UInt32.random(in: 0...UInt32.max))"
    }
}
