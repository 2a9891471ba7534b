import EventBus
import EventBusKafka
import Foundation
import Logging

extension PressureTarget {
    /// Kafka at `EVENTBUS_KAFKA_BROKERS` (default 127.0.0.1:9092) with the reference pool settings
    /// and 3 partitions per topic; short group timeouts because Tansu answers a second JoinGroup only
    /// after half the session timeout; at most 3 members per group (one per partition).
    /// `EVENTBUS_KAFKA_OPTIONS` (`name=value;…`) passes librdkafka properties through for experiments.
    public static func kafka(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> PressureTarget
    {
        let brokers = environment["EVENTBUS_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        var logger = Logger(label: "eventbus.pressure.kafka")
        logger.logLevel = environment["EVENTBUS_KAFKA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let configuration = KafkaConfiguration(
            bootstrapServers: brokers.split(separator: ",").map(String.init),
            consumer: KafkaConsumerOptions(
                sessionTimeout: .seconds(3),
                heartbeatInterval: .milliseconds(300),
                commitInterval: .milliseconds(100),
                fetchMaxWait: .milliseconds(Int(environment["EVENTBUS_KAFKA_FETCH_WAIT_MS"] ?? "") ?? 10)
            ),
            pool: ActorPoolConfiguration(logger: quietPoolLogger),
            librdkafkaOptions: librdkafkaOptions(environment["EVENTBUS_KAFKA_OPTIONS"]),
            logger: logger
        )
        return PressureTarget(
            backend: "kafka",
            makeBus: { try KafkaEventBus(configuration: configuration) },
            topicName: { "pressure-\($0)-t\($1)" },
            deadLetterTopic: { configuration.topics.deadLetterTopic(for: $0) },
            maxMembers: configuration.topics.partitions
        )
    }

    /// librdkafka properties from `name=value;name=value`.
    private static func librdkafkaOptions(_ text: String?) -> [String: String] {
        var options: [String: String] = [:]
        for pair in (text ?? "").split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { options[parts[0]] = parts[1] }
        }
        return options
    }
}
