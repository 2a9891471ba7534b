import Logging
import Tracing

/// Settings of an ``InMemoryEventBus``; the defaults suit tests and embedded use.
///
/// Memory is bounded by `partitionsPerTopic × partitionCapacity` retained messages per topic plus
/// `maxInFlightPerSubscription` messages per subscription; publishers wait when a partition is full.
public struct InMemoryConfiguration: Sendable {
    /// Partitions per topic: the unit of order and of assignment to group members. Default 8.
    public var partitionsPerTopic: Int
    /// Messages one partition retains until every consumer group handled them. Default 1024.
    public var partitionCapacity: Int
    /// Messages one partition of a dead-letter topic retains until a group handled them.
    /// Default 8192. When it is full, the pool keeps retrying the dead-letter write (the failing
    /// actor waits, so its keys wait too) until a consumer of the dead-letter topic makes room or the
    /// subscription closes; dead letters are never dropped.
    public var deadLetterPartitionCapacity: Int
    /// Messages one subscription holds between delivery and acknowledgement. Default 16384.
    public var maxInFlightPerSubscription: Int
    /// The most messages a subscription takes from its partitions at once. Default 4096: a larger
    /// hand-over wakes each actor for more messages at once.
    public var deliveryBatchSize: Int
    /// The actor pool each subscription dispatches through.
    public var pool: ActorPoolConfiguration
    /// Appended to a topic's name to name its dead-letter topic. Default `.dlq`; 1 to 32 ASCII
    /// letters, digits, `-`, `_` and `.` with at least one `.` (``EventBusNames``).
    public var deadLetterSuffix: String
    /// How long ``InMemoryEventBus/shutdown()`` waits for subscriptions to drain. Default 30 s.
    public var shutdownTimeout: Duration
    /// Where the bus logs.
    public var logger: Logger
    /// The tracer for producer and consumer spans (`Docs/Observability.md`, "Tracing"); it also
    /// injects and extracts the context in message headers. Default nil: the process's bootstrapped
    /// `InstrumentationSystem.tracer` and `InstrumentationSystem.instrument`, read once when the bus
    /// is created. With neither bootstrapped nothing is traced and no header is written.
    public var tracer: (any Tracer)? = nil

    /// Creates a configuration.
    public init(
        partitionsPerTopic: Int = 8,
        partitionCapacity: Int = 1024,
        deadLetterPartitionCapacity: Int = 8192,
        maxInFlightPerSubscription: Int = 16384,
        deliveryBatchSize: Int = 4096,
        pool: ActorPoolConfiguration = ActorPoolConfiguration(),
        deadLetterSuffix: String = ".dlq",
        shutdownTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "eventbus.memory")
    ) {
        self.partitionsPerTopic = partitionsPerTopic
        self.partitionCapacity = partitionCapacity
        self.deadLetterPartitionCapacity = deadLetterPartitionCapacity
        self.maxInFlightPerSubscription = maxInFlightPerSubscription
        self.deliveryBatchSize = deliveryBatchSize
        self.pool = pool
        self.deadLetterSuffix = deadLetterSuffix
        self.shutdownTimeout = shutdownTimeout
        self.logger = logger
    }

    /// Throws when a value is out of range.
    public func validate() throws(EventBusError) {
        for (value, field) in [
            (partitionsPerTopic, "partitionsPerTopic"), (partitionCapacity, "partitionCapacity"),
            (deadLetterPartitionCapacity, "deadLetterPartitionCapacity"),
            (maxInFlightPerSubscription, "maxInFlightPerSubscription"), (deliveryBatchSize, "deliveryBatchSize"),
        ] where value < 1 {
            throw EventBusError(.invalidConfiguration, "\(field) must be at least 1", field: field)
        }
        try EventBusNames.validateDeadLetterSuffix(deadLetterSuffix, field: "deadLetterSuffix")
        try pool.validate()
    }
}
