import EventBus
import Logging
import Synchronization

/// The `EventBus` over Apache Kafka (or a Kafka-compatible broker such as Tansu), built on
/// librdkafka.
///
/// Publishing goes through one idempotent producer per bus; `publish` returns when the broker
/// acknowledged every message of the call. Each `subscribe` creates one high-level consumer for its
/// (topic, group), dispatches through an `ActorPool` and commits, per partition, only offsets
/// whose messages — and every message before them — were handled or durably dead-lettered.
///
/// Topic and group names follow `EventBusNames` (Apache Kafka's topic rule without `.`, which only
/// the dead-letter suffix uses); `publish` and `subscribe` throw `invalidArgument` for others before
/// any broker call, so a broker that accepts more (Tansu) behaves as Apache Kafka does.
///
/// librdkafka ≥ 2.1 is needed at run time to talk to Tansu (see the README); the version loaded is
/// reported by ``librdkafkaVersion``.
public final class KafkaEventBus: ConnectableEventBus, MessagingSystemNaming {
    struct State {
        var pollerStarted = false
        var shutDown = false
        var knownTopics: Set<String> = []
        var subscriptions: [KafkaSubscription] = []
        var deadLetterProducer: RDKafkaProducer?
    }

    /// The validated configuration.
    public let configuration: KafkaConfiguration
    let producer: RDKafkaProducer
    let state = Mutex(State())
    let pollerStopped = ManagedFlag()
    /// Mirrors `State.shutDown` so the publish path checks it without taking the lock.
    let isShutDown = Atomic<Bool>(false)
    /// Mirrors `State.pollerStarted` for the same reason.
    let isPollerStarted = Atomic<Bool>(false)
    let logger: Logger
    /// The publish side of `BusMetrics`; nil when metrics are off.
    let publishMetrics: PublishMetrics?

    /// Validates `configuration` and creates the bus and its producer: the construction every
    /// backend shares (`InMemoryEventBus.connect(_:)` and `NATSEventBus.connect(_:)` have the same
    /// shape), so code that builds `any EventBus` from settings treats all three alike.
    ///
    /// librdkafka connects in the background: this returns without waiting for a broker, the first
    /// publish or subscribe waits for one (bounded by their own timeouts), and ``health()`` says
    /// whether the brokers answer.
    ///
    /// - Throws: `EventBusError.Code.invalidConfiguration` naming the field, from
    ///   ``KafkaConfiguration/validate()`` or when librdkafka refuses a property.
    public static func connect(_ configuration: KafkaConfiguration) async throws(EventBusError) -> KafkaEventBus {
        try KafkaEventBus(configuration: configuration)
    }

    /// Creates the bus and its producer, the synchronous form of ``connect(_:)``; no connection is
    /// made and no thread started until the first publish or subscribe.
    public init(configuration: KafkaConfiguration) throws(EventBusError) {
        try configuration.validate()
        var configuration = configuration
        configuration.pool = configuration.pool.inheritingLogger(configuration.logger)
        configuration.pool.tracing = MessageTracing.resolve(configuration.tracer, system: MessagingSystem.kafka)
        configuration.pool.backend = MessagingSystem.kafka
        self.publishMetrics = PublishMetrics.make(configuration.pool, backend: MessagingSystem.kafka)
        self.configuration = configuration
        self.logger = configuration.logger
        self.producer = try RDKafkaProducer(
            properties: configuration.producerProperties, logger: configuration.logger)
    }

    /// The librdkafka version loaded at run time; Tansu needs 2.1 or newer.
    public static var librdkafkaVersion: String { RDKafkaConfig.runtimeVersion }

    /// Reports broker connectivity and subscriptions (`Docs/Observability.md`, "Health"): a
    /// metadata request (bounded by ``KafkaHealthOptions/probeTimeout``) must be answered for
    /// `healthy`; while none is, `degraded`, and `unhealthy` once the brokers have been unreachable
    /// for ``KafkaHealthOptions/unhealthyAfter`` or after `shutdown()`. A stalled subscription is
    /// `degraded`; so is, with `ActorPoolConfiguration.maxConsumerLag` set and the brokers
    /// reachable, a subscribed (topic, group) lagging more. `eventbus.cause` names why.
    public func health() async -> BusHealth {
        let (shutDown, subscriptions) = state.withLock { ($0.shutDown, $0.subscriptions) }
        var details = [
            "eventbus.backend": "kafka",
            "eventbus.subscriptions": String(subscriptions.count),
            "eventbus.kafka.outstanding": String(producer.outstanding),
            "eventbus.kafka.librdkafka": Self.librdkafkaVersion,
        ]
        if shutDown {
            details["eventbus.shutdown"] = "true"
            details["eventbus.cause"] = "the bus was shut down"
            return BusHealth(status: .unhealthy, details: details)
        }
        let producer = self.producer
        if let fatal = producer.fatalError {
            // Every later publish fails: only a new bus (a new producer) can publish again.
            details["eventbus.kafka.fatal_error"] = fatal.name
            details["eventbus.cause"] =
                "the Kafka producer hit a fatal error and refuses every publish; only a new bus can publish: \(fatal.reason)"
            return BusHealth(status: .unhealthy, details: details)
        }
        let timeout = Int32(KafkaConfiguration.milliseconds(configuration.health.probeTimeout)) ?? 2_000
        let probe: Result<Int, EventBusError>
        do throws(EventBusError) {
            probe = try await DedicatedThread.run { () -> Result<Int, EventBusError> in
                do throws(EventBusError) {
                    return .success(try producer.probeBrokers(timeoutMilliseconds: timeout))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            probe = .failure(error)
        }
        let stalls = subscriptions.compactMap { subscription in
            subscription.stallDescription.map { "\(subscription.topic)/\(subscription.group): \($0)" }
        }
        if !stalls.isEmpty {
            details["eventbus.consume.stalled_subscriptions"] = String(stalls.count)
            details["eventbus.cause"] = "stalled: " + stalls.joined(separator: "; ")
        }
        switch probe {
        case .success(let brokers):
            details["eventbus.kafka.brokers"] = String(brokers)
            let members = subscriptions.map {
                LagHealth.Member(topic: $0.topic, group: $0.group, metrics: $0.metrics)
            }
            let lagging = await LagHealth.check(
                bound: configuration.pool.maxConsumerLag, members: members, details: &details
            ) { topic, group throws(EventBusError) in try await consumerLag(topic: topic, group: group) }
            return BusHealth(status: stalls.isEmpty && !lagging ? .healthy : .degraded, details: details)
        case .failure(let error):
            let unreachable = producer.unreachable
            let since = unreachable.since ?? .now
            let elapsed = ContinuousClock.now - since
            details["eventbus.kafka.brokers"] = "unreachable"
            let milliseconds: Int64 =
                elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            details["eventbus.kafka.unreachable_ms"] = String(milliseconds)
            // The brokers are the root cause: named first, a stall's cause after them.
            details["eventbus.cause"] = [
                "no Kafka broker answered: \(unreachable.reason ?? error.message)", details["eventbus.cause"],
            ]
            .compactMap { $0 }.joined(separator: "; ")
            let status: BusHealth.Status = elapsed >= configuration.health.unhealthyAfter ? .unhealthy : .degraded
            return BusHealth(status: status, details: details)
        }
    }

    public func shutdown() async {
        let subscriptions = state.withLock { state -> [KafkaSubscription]? in
            guard !state.shutDown else { return nil }
            state.shutDown = true
            isShutDown.store(true, ordering: .releasing)
            let subscriptions = state.subscriptions
            state.subscriptions = []
            return subscriptions
        }
        guard let subscriptions else { return }
        for subscription in subscriptions {
            await subscription.close()
        }
        let timeout = Int32(KafkaConfiguration.milliseconds(configuration.producer.messageTimeout)) ?? 30_000
        var producers = [producer]
        if let deadLetters = state.withLock({ $0.deadLetterProducer }) { producers.append(deadLetters) }
        for producer in producers {
            // A call that saw the bus running may still be about to produce: stop it first, so
            // that nothing is enqueued after the flush and purge below, whose delivery report the
            // poll thread would never serve (its publish would wait for ever).
            // (Without a thread, as for the flush below, there is no safe place to wait.)
            _ = try? await DedicatedThread.run { producer.stopProducing() }
            // Without a thread (the system gave none) nothing can be flushed: purge.
            let drained = (try? await DedicatedThread.run { producer.flush(timeoutMilliseconds: timeout) }) ?? false
            if !drained {
                logger.warning("shutdown: undelivered messages purged; their publishes fail")
                producer.purge()
            }
            // Serve the last delivery reports (including purged ones) before the poll thread stops.
            _ = try? await DedicatedThread.run { _ = producer.poll(timeoutMilliseconds: 100) }
        }
        pollerStopped.raise()
        // Free librdkafka's threads and sockets now, not whenever the last reference goes.
        for producer in producers {
            // Without a thread, deinit destroys it once the last reference goes.
            _ = try? await DedicatedThread.run { producer.destroy() }
        }
    }

    /// Starts the thread that serves delivery reports and log lines, once; throws when the system
    /// gives no thread (the next call tries again).
    func startPollerIfNeeded() throws(EventBusError) {
        if isPollerStarted.load(ordering: .acquiring) { return }
        let start = state.withLock { state -> Bool in
            guard !state.pollerStarted else { return false }
            state.pollerStarted = true
            isPollerStarted.store(true, ordering: .releasing)
            return true
        }
        guard start else { return }
        do {
            try startPoller(for: producer)
        } catch {
            state.withLock { state in
                state.pollerStarted = false
                isPollerStarted.store(false, ordering: .releasing)
            }
            throw error
        }
    }

    /// Serves `producer`'s delivery reports and log lines on a thread of its own until shutdown.
    func startPoller(for producer: RDKafkaProducer) throws(EventBusError) {
        let stopped = pollerStopped
        try DedicatedThread.start {
            while !stopped.isRaised {
                producer.poll(timeoutMilliseconds: 50)
            }
        }
    }

    /// Reads `group`'s lag on `topic` (see `ConsumerLag`): per partition, the high watermark
    /// minus the group's committed offset; a partition the group never committed counts from where
    /// ``KafkaConsumerOptions/autoOffsetReset`` would start it (the low watermark for `.earliest`,
    /// the default). Each broker request is bounded by ``KafkaTopicOptions/operationTimeout``.
    public func consumerLag(topic: String, group: String) async throws(EventBusError) -> ConsumerLag {
        try EventBusNames.validateSubscription(
            topic: topic, group: group, deadLetterSuffix: configuration.topics.deadLetterSuffix)
        if isShutDown.load(ordering: .acquiring) {
            throw EventBusError(.shutDown, "the Kafka event bus was shut down")
        }
        try startPollerIfNeeded()
        let producer = self.producer
        let earliest = configuration.consumer.autoOffsetReset == .earliest
        let timeout = Int32(KafkaConfiguration.milliseconds(configuration.topics.operationTimeout)) ?? 10_000
        // What this process's own members of the group learnt from their fetches (see
        // RDKafkaProducer.consumerLag on why), read on the blocking thread with the rest.
        let members = state.withLock { $0.subscriptions.filter { $0.topic == topic && $0.group == group } }
        let result = try await DedicatedThread.run { () -> Result<[ConsumerLag.Partition], EventBusError> in
            let known = { (partitions: Int32) -> [Int64?] in
                var known = [Int64?](repeating: nil, count: Int(max(0, partitions)))
                for member in members {
                    for (index, high) in member.consumer.cachedHighWatermarks(partitions: partitions).enumerated() {
                        if let high { known[index] = max(known[index] ?? high, high) }
                    }
                }
                return known
            }
            do throws(EventBusError) {
                return .success(
                    try producer.consumerLag(
                        topic: topic, group: group, startFromEarliest: earliest, timeoutMilliseconds: timeout,
                        knownHighWatermarks: known))
            } catch {
                return .failure(error)
            }
        }
        return ConsumerLag(topic: topic, group: group, partitions: try result.get())
    }

    func forget(_ subscription: KafkaSubscription) {
        state.withLock { state in
            state.subscriptions.removeAll { $0 === subscription }
        }
    }
}

extension KafkaEventBus {
    package var messagingSystem: String { MessagingSystem.kafka }
}
