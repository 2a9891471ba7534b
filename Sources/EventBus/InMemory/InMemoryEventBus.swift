import Logging
import Synchronization

/// The embedded event bus: topics, consumer groups and dead letters inside the process, no broker.
///
/// It keeps the brokers' semantics so code tested against it behaves the same on Kafka or NATS:
/// keys map to partitions; within a group each message goes to one member and every group gets every
/// message; a message is acknowledged only after its handler returned or it was dead-lettered to
/// `<topic>.dlq`; a member that closes with messages unhandled has them redelivered to the others;
/// partitions and subscriptions are bounded, and publishers wait when they are full.
///
/// A new group starts at the oldest message the topic still retains. Messages are retained until
/// every group that ever subscribed has handled them, so a group whose members all left holds its
/// place and, once its partitions fill, makes publishers wait (nothing is dropped).
///
/// Topic and group names follow ``EventBusNames``, the strictest rules among the backends, so a name
/// this bus accepts also works on Kafka and NATS: `publish` and `subscribe` throw `invalidArgument`
/// for any other.
public final class InMemoryEventBus: EventBus, MessagingSystemNaming {
    let broker: InMemoryBroker
    private let logger: Logger
    private let tracing: MessageTracing?
    private let publishMetrics: PublishMetrics?
    private let maxConsumerLag: Int64?
    private let state = Mutex(State())

    private struct State {
        var acceptingPublishes = true
        var subscriptions: [ObjectIdentifier: InMemorySubscription] = [:]
        var shutdownTask: Task<Void, Never>?
    }

    /// Validates `configuration` and creates the bus: the construction every backend shares
    /// (`KafkaEventBus`'s and `NATSEventBus`'s `connect(_:)` have the same shape), so code that
    /// builds `any EventBus` from settings treats all three alike. There is nothing to connect to:
    /// it returns at once.
    ///
    /// - Throws: ``EventBusError/Code/invalidConfiguration`` naming the field, as
    ///   ``InMemoryConfiguration/validate()``.
    public static func connect(
        _ configuration: InMemoryConfiguration = InMemoryConfiguration()
    ) async throws(EventBusError) -> InMemoryEventBus {
        try InMemoryEventBus(configuration: configuration)
    }

    /// Creates a bus, the synchronous form of ``connect(_:)``; throws when the configuration is
    /// invalid.
    public init(configuration: InMemoryConfiguration = InMemoryConfiguration()) throws(EventBusError) {
        try configuration.validate()
        var configuration = configuration
        configuration.pool = configuration.pool.inheritingLogger(configuration.logger)
        configuration.pool.tracing = MessageTracing.resolve(configuration.tracer, system: MessagingSystem.inMemory)
        configuration.pool.backend = MessagingSystem.inMemory
        self.tracing = configuration.pool.tracing
        self.publishMetrics = PublishMetrics.make(configuration.pool, backend: MessagingSystem.inMemory)
        self.maxConsumerLag = configuration.pool.maxConsumerLag
        self.broker = InMemoryBroker(configuration: configuration)
        self.logger = configuration.logger
    }

    public func publish(_ message: OutgoingMessage) async throws(EventBusError) {
        try await publish([message])
    }

    public func publish(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        guard let publishMetrics, !messages.isEmpty else { return try await publishMeasured(messages) }
        try await publishMetrics.measure(messages) { () throws(EventBusError) in try await publishMeasured(messages) }
    }

    private func publishMeasured(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        try checkAcceptingPublishes()
        var previous: String?
        for message in messages where message.topic != previous {
            try EventBusNames.validateTopic(message.topic, deadLetterSuffix: broker.configuration.deadLetterSuffix)
            previous = message.topic
        }
        guard let tracing else { return try await broker.publish(messages) }
        try await tracing.send(messages) { messages throws(EventBusError) in try await broker.publish(messages) }
    }

    /// Carries the envelopes to subscribers without serializing them; each is validated as a
    /// broker backend would, and raw subscribers still receive the JSON bytes and `X-Event-*` headers.
    public func publish(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) {
        guard let publishMetrics, !envelopes.isEmpty else { return try await publishMeasured(envelopes, to: topic) }
        try await publishMetrics.measure([(topic, envelopes.count)]) { () throws(EventBusError) in
            try await publishMeasured(envelopes, to: topic)
        }
    }

    private func publishMeasured(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) {
        try checkAcceptingPublishes()
        try EventBusNames.validateTopic(topic, deadLetterSuffix: broker.configuration.deadLetterSuffix)
        guard let tracing else { return try await broker.publish(envelopes, to: topic) }
        try await tracing.send(envelopes, topic: topic) { envelopes, traceHeaders throws(EventBusError) in
            try await broker.publish(envelopes, to: topic, traceHeaders: traceHeaders)
        }
    }

    public func subscribe(
        topic: String,
        group: String,
        handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        try await addSubscription(topic: topic, group: group) { message in
            try await handler(message.carriedEnvelope == nil ? message : message.materialized())
        }
    }

    public func makeEnvelopeSubscription(
        topic: String,
        group: String,
        handler envelopeHandler: @escaping EnvelopeHandler
    ) async throws(EventBusError) -> any Subscription {
        let decodeAndHandle = envelopeMessageHandler(envelopeHandler)
        return try await addSubscription(topic: topic, group: group, keylessRouting: .envelopeAggregateID) { message in
            // The envelope lent straight out of the carried batch, which `message` holds for the
            // call: binding the `CarriedEnvelope` first retained and released the batch, which
            // every message of a publish call shares, and reading the envelope copied it (see
            // `EnvelopeBatch.lend`).
            if message.carriedEnvelope != nil {
                try await message.carriedEnvelope!.lendEnvelope(to: envelopeHandler)
            } else {
                try await decodeAndHandle(message)
            }
        }
    }

    private func addSubscription(
        topic: String,
        group: String,
        keylessRouting: ActorPool.KeylessRouting = .rotate,
        handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        try EventBusNames.validateSubscription(
            topic: topic, group: group, deadLetterSuffix: broker.configuration.deadLetterSuffix)
        try checkAcceptingPublishes()
        let subscription = try InMemorySubscription(
            source: try broker.topic(topic),
            group: group,
            handler: handler,
            keylessRouting: keylessRouting,
            broker: broker
        )
        state.withLock { $0.subscriptions[ObjectIdentifier(subscription)] = subscription }
        await subscription.start()
        logger.debug("subscribed", metadata: ["eventbus.topic": "\(topic)", "eventbus.group": "\(group)"])
        return subscription
    }

    private func checkAcceptingPublishes() throws(EventBusError) {
        guard state.withLock({ $0.acceptingPublishes }) else {
            throw EventBusError(.shutDown, "the in-memory bus is shutting down")
        }
    }

    /// Retained minus acknowledged messages per partition (see ``ConsumerLag``); throws
    /// `topicMismatch` for a topic nothing was published or subscribed to yet.
    public func consumerLag(topic: String, group: String) async throws(EventBusError) -> ConsumerLag {
        try EventBusNames.validateSubscription(
            topic: topic, group: group, deadLetterSuffix: broker.configuration.deadLetterSuffix)
        try checkAcceptingPublishes()
        guard let source = broker.existingTopic(topic) else {
            throw EventBusError(.topicMismatch, "topic '\(topic)' does not exist on this in-memory bus", field: "topic")
        }
        return ConsumerLag(topic: topic, group: group, partitions: source.lag(group: group))
    }

    public func health() async -> BusHealth {
        let (accepting, subscriptions) = state.withLock { ($0.acceptingPublishes, Array($0.subscriptions.values)) }
        let topics = broker.allTopics
        let retained = topics.reduce(0) { $0 + $1.statistics.retained }
        var details = [
            "eventbus.backend": MessagingSystem.inMemory,
            "eventbus.topics": "\(topics.count)",
            "eventbus.subscriptions": "\(subscriptions.count)",
            "eventbus.retained": "\(retained)",
        ]
        let stalls = subscriptions.compactMap { subscription in
            subscription.stallDescription.map { "\(subscription.topic)/\(subscription.group): \($0)" }
        }
        if !stalls.isEmpty {
            details["eventbus.consume.stalled_subscriptions"] = String(stalls.count)
            details["eventbus.cause"] = "stalled: " + stalls.joined(separator: "; ")
        }
        var lagging = false
        if accepting {
            let members = subscriptions.map {
                LagHealth.Member(topic: $0.topic, group: $0.group, metrics: $0.metrics)
            }
            lagging = await LagHealth.check(bound: maxConsumerLag, members: members, details: &details) {
                topic, group throws(EventBusError) in try await consumerLag(topic: topic, group: group)
            }
        }
        if !accepting {
            details["eventbus.shutdown"] = "true"
            details["eventbus.cause"] = "the bus was shut down"
        }
        let status: BusHealth.Status = !accepting ? .unhealthy : stalls.isEmpty && !lagging ? .healthy : .degraded
        return BusHealth(status: status, details: details)
    }

    public func shutdown() async {
        let task = state.withLock { state -> Task<Void, Never> in
            if let running = state.shutdownTask { return running }
            state.acceptingPublishes = false
            let task = Task { await self.drainAndClose() }
            state.shutdownTask = task
            return task
        }
        await task.value
    }

    private func drainAndClose() async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: broker.configuration.shutdownTimeout)
        while !broker.allTopics.allSatisfy(\.isDrained) {
            guard clock.now < deadline else {
                logger.warning("shutdown timed out before every subscription drained; unhandled messages are dropped")
                break
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        // Close the topics first: a publisher still waiting for room then fails instead of holding
        // up the subscriptions' close.
        broker.close()
        let subscriptions = state.withLock { state in
            defer { state.subscriptions.removeAll() }
            return Array(state.subscriptions.values)
        }
        await withDiscardingTaskGroup { group in
            for subscription in subscriptions {
                group.addTask { await subscription.close() }
            }
        }
        logger.debug("in-memory bus shut down")
    }
}

extension InMemoryEventBus {
    package var messagingSystem: String { MessagingSystem.inMemory }
}
