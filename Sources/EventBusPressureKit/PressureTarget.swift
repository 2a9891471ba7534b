import EventBus
import Logging

/// A backend to put under pressure: how to build a bus and how it names topics and dead letters.
public struct PressureTarget: Sendable {
    /// The backend's name as printed: memory, kafka, nats.
    public var backend: String
    /// Builds a fresh bus for one run.
    public var makeBus: @Sendable () async throws -> any EventBus
    /// The topic name for topic `index` of run `runID`; broker backends need names that are new
    /// for every run so leftovers of an earlier run are never counted.
    public var topicName: @Sendable (_ runID: String, _ index: Int) -> String
    /// The dead-letter topic of a topic.
    public var deadLetterTopic: @Sendable (String) -> String
    /// Removes what a run left on the broker for its consumer group (`group` on every topic, and
    /// `group-dlq` on their dead letters), after its subscriptions closed. Nothing by default.
    public var removeGroups: @Sendable (_ bus: any EventBus, _ topics: [String], _ group: String) async -> Void
    /// The most members per group the backend can run: a run asking for more is refused before a
    /// bus is built. Default 16 (the top of ``PressureWorkload/memberRange``); Kafka's is its
    /// partitions per topic, because `KafkaEventBus.subscribe` returns only once the member was
    /// assigned a partition, so a member beyond the partition count would fail the run after the
    /// assignment timeout.
    public var maxMembers: Int

    /// Creates a target.
    public init(
        backend: String,
        makeBus: @escaping @Sendable () async throws -> any EventBus,
        topicName: @escaping @Sendable (_ runID: String, _ index: Int) -> String = { "pressure-\($0)-t\($1)" },
        deadLetterTopic: @escaping @Sendable (String) -> String = { $0 + ".dlq" },
        removeGroups: @escaping @Sendable (_ bus: any EventBus, _ topics: [String], _ group: String) async -> Void = {
            _, _, _ in
        },
        maxMembers: Int = PressureWorkload.memberRange.upperBound
    ) {
        self.backend = backend
        self.makeBus = makeBus
        self.topicName = topicName
        self.deadLetterTopic = deadLetterTopic
        self.removeGroups = removeGroups
        self.maxMembers = maxMembers
    }

    /// The in-memory bus with the reference pool settings (256 actors, inbox 1000, 3 restarts).
    public static func memory(
        _ configuration: InMemoryConfiguration = InMemoryConfiguration(
            pool: ActorPoolConfiguration(logger: quietPoolLogger))
    ) -> PressureTarget {
        PressureTarget(backend: "memory", makeBus: { try InMemoryEventBus(configuration: configuration) })
    }

    /// The pools' logger for pressure runs: the workload's injected failures are expected and
    /// counted in the report, so their per-message warnings would only bury the table.
    public static var quietPoolLogger: Logger {
        var logger = Logger(label: "eventbus.pressure.pool")
        logger.logLevel = .error
        return logger
    }
}
