/// How topics the bus touches are provisioned, and how dead-letter topics are named.
public struct KafkaTopicOptions: Sendable, Equatable {
    /// Whether a missing topic is created through the admin API or reported as an error.
    public enum Provisioning: Sendable, Equatable {
        /// Create missing topics with ``KafkaTopicOptions/partitions`` partitions.
        case createIfMissing
        /// Only check that topics exist; a missing one fails with `topicMismatch`.
        case validateOnly
    }

    /// Create or only validate. Default ``Provisioning/createIfMissing``.
    public var provisioning: Provisioning
    /// Partitions of created topics; bounds consumer parallelism within a group. Default 3.
    public var partitions: Int
    /// Replicas of created topics. Default 1 (a single-broker development cluster).
    public var replicationFactor: Int
    /// Appended to a topic's name to name its dead-letter topic. Default `.dlq`; 1 to 32 ASCII
    /// letters, digits, `-`, `_` and `.` with at least one `.` (`EventBusNames`), so dead-letter
    /// topics are legal Kafka names that no ordinary topic can take.
    public var deadLetterSuffix: String
    /// How long topic checks and creation may take. Default 10 s.
    public var operationTimeout: Duration

    /// Creates topic options with the documented defaults.
    public init(
        provisioning: Provisioning = .createIfMissing,
        partitions: Int = 3,
        replicationFactor: Int = 1,
        deadLetterSuffix: String = ".dlq",
        operationTimeout: Duration = .seconds(10)
    ) {
        self.provisioning = provisioning
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.deadLetterSuffix = deadLetterSuffix
        self.operationTimeout = operationTimeout
    }

    /// The dead-letter topic of `topic`.
    public func deadLetterTopic(for topic: String) -> String { topic + deadLetterSuffix }
}
