/// How consumers join their group and where they start; defaults suit a service that must not miss events.
public struct KafkaConsumerOptions: Sendable, Equatable {
    /// Where a group without a committed offset starts reading.
    public enum OffsetReset: String, Sendable, Equatable {
        /// From the oldest retained message: nothing published before the first subscribe is missed.
        case earliest
        /// Only messages published after the group joined.
        case latest
    }

    /// How long the broker waits for a heartbeat before it evicts a member. Default 6 s.
    public var sessionTimeout: Duration
    /// How often members heartbeat; well below the session timeout. Default 500 ms.
    public var heartbeatInterval: Duration
    /// Where a new group starts. Default ``OffsetReset/earliest``.
    public var autoOffsetReset: OffsetReset
    /// How long the poll loop may stall before the member is considered dead. Default 300 s.
    public var maxPollInterval: Duration
    /// How often completed offsets are committed while running. Default 500 ms.
    public var commitInterval: Duration
    /// How long a revoked partition's in-flight messages may take before it is released anyway.
    /// Default 10 s.
    public var revocationTimeout: Duration
    /// How long `subscribe` waits for the group to assign partitions. Default 30 s.
    public var assignmentTimeout: Duration
    /// How many messages the poll loop takes from librdkafka at once. Default 1024.
    public var pollBatchSize: Int
    /// How long the broker may hold a fetch request open waiting for data (`fetch.wait.max.ms`).
    /// Kafka answers early when data arrives; Tansu 0.6 waits the full time, so this bounds the
    /// consume latency there. Default 100 ms.
    public var fetchMaxWait: Duration

    /// Creates consumer options with the documented defaults.
    public init(
        sessionTimeout: Duration = .seconds(6),
        heartbeatInterval: Duration = .milliseconds(500),
        autoOffsetReset: OffsetReset = .earliest,
        maxPollInterval: Duration = .seconds(300),
        commitInterval: Duration = .milliseconds(500),
        revocationTimeout: Duration = .seconds(10),
        assignmentTimeout: Duration = .seconds(30),
        pollBatchSize: Int = 1024,
        fetchMaxWait: Duration = .milliseconds(100)
    ) {
        self.sessionTimeout = sessionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.autoOffsetReset = autoOffsetReset
        self.maxPollInterval = maxPollInterval
        self.commitInterval = commitInterval
        self.revocationTimeout = revocationTimeout
        self.assignmentTimeout = assignmentTimeout
        self.pollBatchSize = pollBatchSize
        self.fetchMaxWait = fetchMaxWait
    }
}
