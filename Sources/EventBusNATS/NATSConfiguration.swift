import EventBus
import Logging
import Tracing

/// Everything ``NATSEventBus`` needs to reach nats-server and lay out its streams and consumers.
///
/// Topics map to subjects as `<subjectPrefix>.<topic>`; a topic is one subject token (letters,
/// digits, `-`, `_`), so the default stream subjects `<subjectPrefix>.*` cover every topic while
/// the dead-letter subjects `<subjectPrefix>.<topic>.dlq` (two tokens after the prefix) stay out of
/// the main stream and are captured by the dead-letter stream alone. The defaults suit one
/// nats-server on localhost; ``validate()`` runs when the bus is built.
public struct NATSConfiguration: Sendable {
    /// Server URLs, tried in order (for example `nats://127.0.0.1:4222`).
    public var servers: [String]
    /// The connection name shown in the server's monitoring.
    public var name: String
    /// How the connection authenticates.
    public var credentials: Credentials
    /// How a lost connection is re-established.
    public var reconnect: ReconnectPolicy
    /// The stream that stores the topics' messages.
    public var stream: StreamSettings
    /// How durable pull consumers are created and read.
    public var consumer: ConsumerSettings
    /// Where dead letters go.
    public var deadLetter: DeadLetterSettings
    /// Publishing limits.
    public var publish: PublishSettings
    /// How `health()` judges the connection to the server.
    public var health: HealthSettings
    /// The dispatcher every subscription hands messages to.
    public var pool: ActorPoolConfiguration
    /// Subjects are `<subjectPrefix>.<topic>` and `<subjectPrefix>.<topic>.p.<partition>`.
    /// Default `eventbus`.
    public var subjectPrefix: String
    /// How many partitions each topic has (the unit a consumer group hands between members, like a
    /// Kafka topic's partitions). Every process that publishes to or consumes a topic must use the
    /// same count. More partitions let more members share a group's work, and each one costs the
    /// server a durable consumer per group: measured here, about 1.5-2 µs of nats-server CPU per
    /// message for every partition beyond the first over five busy topics (Docs/NATS.md, "Partition count").
    /// Default 3, the partition count `KafkaEventBus` creates topics with.
    public var partitionsPerTopic: Int
    /// Where the bus logs connection changes and failures.
    public var logger: Logger
    /// The tracer for producer and consumer spans (`Docs/Observability.md`, "Tracing"); it also
    /// injects and extracts the context in message headers. Default nil: the process's bootstrapped
    /// `InstrumentationSystem.tracer` and `InstrumentationSystem.instrument`, read once when the bus
    /// is created. With neither bootstrapped nothing is traced and no header is written.
    public var tracer: (any Tracer)? = nil

    /// Creates a configuration; every argument has a documented default.
    public init(
        servers: [String] = ["nats://127.0.0.1:4222"],
        name: String = "eventbus",
        credentials: Credentials = .none,
        reconnect: ReconnectPolicy = ReconnectPolicy(),
        stream: StreamSettings = StreamSettings(),
        consumer: ConsumerSettings = ConsumerSettings(),
        deadLetter: DeadLetterSettings = DeadLetterSettings(),
        publish: PublishSettings = PublishSettings(),
        pool: ActorPoolConfiguration = ActorPoolConfiguration(),
        subjectPrefix: String = "eventbus",
        partitionsPerTopic: Int = 3,
        logger: Logger = Logger(label: "eventbus.nats"),
        health: HealthSettings = HealthSettings()
    ) {
        self.servers = servers
        self.name = name
        self.credentials = credentials
        self.reconnect = reconnect
        self.stream = stream
        self.consumer = consumer
        self.deadLetter = deadLetter
        self.publish = publish
        self.pool = pool
        self.subjectPrefix = subjectPrefix
        self.partitionsPerTopic = partitionsPerTopic
        self.logger = logger
        self.health = health
    }
}
