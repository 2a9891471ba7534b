import EventBus
import Logging
import Tracing

/// Everything a ``KafkaEventBus`` needs. ``KafkaEventBus/connect(_:)`` validates it (``validate()``),
/// so a typo fails at start-up, not at the first publish; like the other configurations, building
/// one never throws.
public struct KafkaConfiguration: Sendable {
    /// `host:port` pairs of brokers to bootstrap from.
    public var bootstrapServers: [String]
    /// Identifies this service in broker logs and quotas. Default `eventbus`.
    public var clientID: String
    /// Producer tuning.
    public var producer: KafkaProducerOptions
    /// Consumer tuning.
    public var consumer: KafkaConsumerOptions
    /// Topic provisioning and dead-letter naming.
    public var topics: KafkaTopicOptions
    /// The actor pool every subscription dispatches through.
    public var pool: ActorPoolConfiguration
    /// How `health()` judges broker connectivity.
    public var health: KafkaHealthOptions
    /// librdkafka properties applied last to producer and consumer, for settings not modelled here.
    public var librdkafkaOptions: [String: String]
    /// Receives the bus's own logs, librdkafka's log lines, and the actor pools' logs unless
    /// ``pool`` has a logger of its own.
    public var logger: Logger
    /// The tracer for producer and consumer spans (`Docs/Observability.md`, "Tracing"); it also
    /// injects and extracts the context in message headers. Default nil: the process's bootstrapped
    /// `InstrumentationSystem.tracer` and `InstrumentationSystem.instrument`, read once when the bus
    /// is created. With neither bootstrapped nothing is traced and no header is written.
    public var tracer: (any Tracer)? = nil

    /// Creates a configuration; ``KafkaEventBus/connect(_:)`` validates it.
    public init(
        bootstrapServers: [String],
        clientID: String = "eventbus",
        producer: KafkaProducerOptions = KafkaProducerOptions(),
        consumer: KafkaConsumerOptions = KafkaConsumerOptions(),
        topics: KafkaTopicOptions = KafkaTopicOptions(),
        pool: ActorPoolConfiguration = ActorPoolConfiguration(),
        health: KafkaHealthOptions = KafkaHealthOptions(),
        librdkafkaOptions: [String: String] = [:],
        logger: Logger = Logger(label: "eventbus.kafka")
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.producer = producer
        self.consumer = consumer
        self.topics = topics
        self.pool = pool
        self.health = health
        self.librdkafkaOptions = librdkafkaOptions
        self.logger = logger
    }
}
