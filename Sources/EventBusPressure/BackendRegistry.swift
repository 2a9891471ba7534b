import EventBus
import EventBusKafka
import EventBusNATS
import EventBusPressureKit
import Foundation
import Logging

/// The backends `eventbus-pressure` can drive, by name.
enum BackendRegistry {
    static let names = ["memory", "kafka", "nats"]

    static func target(named name: String) throws -> PressureTarget {
        switch name {
        case "memory":
            return .memory()
        case "kafka":
            return try kafka()
        case "nats":
            return nats()
        default:
            throw EventBusError(.invalidArgument, "backend \(name) is not available in this build", field: "backend")
        }
    }

    /// Kafka at `EVENTBUS_KAFKA_BROKERS` (default 127.0.0.1:9092) with the reference pool settings;
    /// short group timeouts because Tansu answers a second JoinGroup only after half the session.
    static func kafka() throws -> PressureTarget {
        let brokers = ProcessInfo.processInfo.environment["EVENTBUS_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        var logger = Logger(label: "eventbus.pressure.kafka")
        logger.logLevel =
            ProcessInfo.processInfo.environment["EVENTBUS_KAFKA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            ?? .warning
        let configuration = try KafkaConfiguration(
            bootstrapServers: brokers.split(separator: ",").map(String.init),
            consumer: KafkaConsumerOptions(
                sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300),
                commitInterval: .milliseconds(100),
                fetchMaxWait: .milliseconds(
                    Int(ProcessInfo.processInfo.environment["EVENTBUS_KAFKA_FETCH_WAIT_MS"] ?? "") ?? 10)),
            librdkafkaOptions: extraOptions(ProcessInfo.processInfo.environment["EVENTBUS_KAFKA_OPTIONS"]),
            logger: logger)
        return PressureTarget(
            backend: "kafka",
            makeBus: { try KafkaEventBus(configuration: configuration) },
            topicName: { "pressure-\($0)-t\($1)" },
            deadLetterTopic: { configuration.topics.deadLetterTopic(for: $0) })
    }

    /// librdkafka properties from `name=value;name=value`, for experiments without rebuilding.
    private static func extraOptions(_ text: String?) -> [String: String] {
        var options: [String: String] = [:]
        for pair in (text ?? "").split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { options[parts[0]] = parts[1] }
        }
        return options
    }

    /// NATS JetStream at `EVENTBUS_NATS_URL` (default `nats://127.0.0.1:4222`), on a stream of its
    /// own whose messages expire after an hour so repeated runs do not fill the disk.
    static func nats() -> PressureTarget {
        var configuration = NATSConfiguration(
            servers: [ProcessInfo.processInfo.environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"])
        configuration.stream.name = "EVENTBUS_PRESSURE"
        configuration.subjectPrefix = "pressure"
        configuration.stream.maxAge = .seconds(3600)
        configuration.logger.logLevel = .warning
        let settings = configuration
        return PressureTarget(
            backend: "nats",
            makeBus: { try await NATSEventBus.connect(settings) },
            topicName: { runID, index in "p\(runID)-t\(index)" }
        )
    }
}
