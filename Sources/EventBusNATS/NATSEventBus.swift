import EventBus
import Logging
import ServiceLifecycle
import Synchronization

/// The `EventBus` over NATS JetStream: durable, deduplicated publishes and durable pull
/// consumers with explicit acks.
///
/// Topic `t` is published on subject `<subjectPrefix>.t` into the configured stream (created with
/// file storage when missing; when present, its subjects must cover the topic or publish and
/// subscribe fail with `EventBusError.Code.topicMismatch`). Each message carries
/// `Nats-Msg-Id` = its `X-Event-ID`, so a retried publish inside the duplicate window is stored
/// once. A (topic, group) pair is one durable pull consumer shared by every member of the group.
/// Messages that fail every attempt go to `<subject>.dlq`, captured by the dead-letter stream.
///
/// Topic and group names follow `EventBusNames` (`invalidArgument` otherwise, before any server
/// call); with a durable prefix longer than `eventbus`, topic and group together have less room
/// (``NATSSubjects/laneConsumerNames(prefix:topic:group:partitions:)``).
public final class NATSEventBus: ConnectableEventBus, Service, MessagingSystemNaming {
    private struct State {
        var subscriptions: [ObjectIdentifier: any NATSMemberSubscription] = [:]
        var coveredTopics: Set<String> = []
        var shutDown = false
    }

    /// The configuration the bus was built with.
    public let configuration: NATSConfiguration
    let connection: NativeConnection
    let publisher: NativePublisher
    /// Bounds the pipelined messages not yet acknowledged (`publish.maxPending`).
    package let pipelineWindow: PublishWindow
    private let streamSubjects: [String]
    private let state = Mutex(State())
    let logger: Logger
    private let duplicates: NATSDuplicateReporter
    /// The publish side of `BusMetrics`; nil when metrics are off.
    let publishMetrics: PublishMetrics?

    /// Whether `shutdown()` was called.
    var isShutDown: Bool { state.withLock { $0.shutDown } }

    private init(
        configuration: NATSConfiguration, connection: NativeConnection, streamSubjects: [String],
        duplicates: NATSDuplicateReporter
    ) {
        var configuration = configuration
        configuration.pool = configuration.pool.inheritingLogger(configuration.logger)
        configuration.pool.tracing = MessageTracing.resolve(configuration.tracer, system: MessagingSystem.nats)
        configuration.pool.backend = MessagingSystem.nats
        self.publishMetrics = PublishMetrics.make(configuration.pool, backend: MessagingSystem.nats)
        self.configuration = configuration
        self.duplicates = duplicates
        self.connection = connection
        self.streamSubjects = streamSubjects
        self.logger = configuration.logger
        self.publisher = NativePublisher(
            connection: connection, subjects: configuration.subjects, ackTimeout: configuration.publish.ackTimeout,
            maxPending: configuration.publish.maxPending)
        self.pipelineWindow = PublishWindow(limit: configuration.publish.maxPending)
    }

    /// Validates `configuration`, connects, and makes sure the stream and dead-letter stream exist.
    ///
    /// Throws `EventBusError.Code.invalidConfiguration` for bad settings and
    /// `EventBusError.Code.connectionFailed` when no server answers.
    public static func connect(_ configuration: NATSConfiguration) async throws(EventBusError) -> NATSEventBus {
        try configuration.validate()
        let duplicates = NATSDuplicateReporter(configuration: configuration)
        let (connection, subjects) = try await NativeThread.run(name: "eventbus.nats.connect") {
            () throws(EventBusError) -> (NativeConnection, [String]) in
            let connection = try NativeConnection(
                configuration: configuration,
                pending: NativePendingPublishes(onDuplicate: { duplicates.record(subject: $0, messageID: $1) }))
            let subjects = try ensureStreams(connection: connection, configuration: configuration).subjects
            return (connection, subjects)
        }
        let bus = NATSEventBus(
            configuration: configuration, connection: connection, streamSubjects: subjects, duplicates: duplicates)
        bus.publisher.start()
        configuration.logger.info(
            "NATS event bus connected",
            metadata: ["eventbus.stream": "\(configuration.stream.name)", "eventbus.subjects": "\(subjects)"])
        return bus
    }

    /// Creates the stream and the dead-letter stream when missing (an existing one is left as it is)
    /// and returns the subjects of each. Blocks.
    static func ensureStreams(
        connection: NativeConnection, configuration: NATSConfiguration
    ) throws(EventBusError) -> (subjects: [String], deadLetterSubjects: [String]) {
        var subjects = try connection.ensureStream(
            name: configuration.stream.name, subjects: configuration.effectiveStreamSubjects,
            settings: configuration.stream)
        let defaults = configuration.subjects.defaultStreamSubjects
        if configuration.stream.subjects.isEmpty, subjects.contains(defaults[0]), !subjects.contains(defaults[1]) {
            // A stream made before topics had partitions: let it capture the partition subjects.
            subjects = try connection.addStreamSubjects(
                configuration.subjects.defaultStreamSubjects, to: configuration.stream.name)
        }
        var deadLetterSettings = configuration.stream
        deadLetterSettings.name = configuration.effectiveDeadLetterStreamName
        let deadLetterSubjects = try connection.ensureStream(
            name: configuration.effectiveDeadLetterStreamName,
            subjects: configuration.subjects.deadLetterStreamSubjects, settings: deadLetterSettings)
        return (subjects, deadLetterSubjects)
    }

    /// The subject of `topic`, checked once against the stream's subjects.
    func checkedSubject(_ topic: String) throws(EventBusError) -> String {
        let subject = try configuration.subjects.subject(forTopic: topic)
        let (known, shutDown) = state.withLock { ($0.coveredTopics.contains(topic), $0.shutDown) }
        if shutDown { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        if known { return subject }
        let partitionSubject = try configuration.subjects.subject(forTopic: topic, partition: 0)
        guard NATSSubjects.covers(streamSubjects, subject: subject),
            NATSSubjects.covers(streamSubjects, subject: partitionSubject)
        else {
            throw EventBusError(
                .topicMismatch,
                "stream '\(configuration.stream.name)' captures \(streamSubjects), not '\(subject)' and "
                    + "'\(partitionSubject)' (topic '\(topic)' and its partitions)",
                field: "topic")
        }
        state.withLock { _ = $0.coveredTopics.insert(topic) }
        return subject
    }

    /// Publishes one message; returns after its PubAck.
    ///
    /// A PubAck marked duplicate (the stream already holds a message with this `Nats-Msg-Id`
    /// within its duplicate window) also returns normally, since the event is stored, but
    /// increments `eventbus_publish_duplicates_total` and logs a warning: a message republished
    /// with its original event ID, such as a decoded dead letter, is never delivered. Replay dead
    /// letters with `EventBus.replayDeadLetter(_:to:)`, which gives them a fresh message ID.
    public func publish(_ message: OutgoingMessage) async throws(EventBusError) {
        try await publish([message])
    }

    /// Publishes messages pipelined through nats.c's async publish; returns after every PubAck.
    ///
    /// A message to a dead-letter topic (`<topic>.dlq`) goes to that topic's dead-letter subject, as
    /// the bus's own dead letters do. Throws `invalidArgument` for a topic outside `EventBusNames`.
    /// With a tracer, each message is sent inside a producer span whose context goes into its headers.
    public func publish(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        guard let publishMetrics, !messages.isEmpty else { return try await publishMeasured(messages) }
        try await publishMetrics.measure(messages) { () throws(EventBusError) in try await publishMeasured(messages) }
    }

    /// ``publish(_:)-([OutgoingMessage])`` without metrics.
    private func publishMeasured(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        guard let tracing = configuration.pool.tracing else { return try await publishUntraced(messages) }
        try await tracing.send(messages) { messages throws(EventBusError) in try await publishUntraced(messages) }
    }

    /// ``publish(_:)-([OutgoingMessage])`` without spans.
    func publishUntraced(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        guard !messages.isEmpty else { return }
        let runs = try subjectRuns(messages)
        if runs.count == 1, runs[0].subject == nil { return try await publisher.publish(messages) }
        if isShutDown { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        // Runs of messages bound for one dead-letter subject (or for partition subjects) go out in
        // turn, so messages of one key keep their order.
        for run in runs {
            try await publisher.publish(Array(messages[run.range]), subject: run.subject)
        }
    }

    /// Joins the durable pull consumer of (`topic`, `group`); `<topic>.dlq` reads its dead letters.
    public func subscribe(
        topic: String, group: String, handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        try await subscribe(topic: topic, group: group, keylessRouting: .rotate, handler: handler)
    }

    /// Subscribes a handler of decoded domain events. Messages without a key header (bare
    /// jxt-core envelopes from another client, on the topic's plain subject) are routed by their
    /// envelope's aggregate ID, decoded once, so each aggregate is still handled in order.
    public func makeEnvelopeSubscription(
        topic: String, group: String, handler: @escaping EnvelopeHandler
    ) async throws(EventBusError) -> any Subscription {
        try await subscribe(
            topic: topic, group: group, keylessRouting: .envelopeAggregateID,
            handler: envelopeMessageHandler(handler))
    }

    private func subscribe(
        topic: String, group: String, keylessRouting: ActorPool.KeylessRouting, handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        let suffix = configuration.deadLetter.subjectSuffix
        try EventBusNames.validateSubscription(topic: topic, group: group, deadLetterSuffix: suffix)
        if let base = EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: suffix) {
            // `<topic>.dlq` names a topic's dead letters, as backends without a separate stream spell it.
            return try await subscribeDeadLetters(topic: base, group: group, handler: handler)
        }
        let subject = try checkedSubject(topic)
        return try await subscribePartitioned(
            subject: subject, topic: topic, group: group,
            deadLetterSubject: try configuration.subjects.deadLetterSubject(forTopic: topic),
            keylessRouting: keylessRouting, handler: handler)
    }

    /// Joins `group` as a member of the topic's partitioned consumer group (see
    /// ``NATSPartitionedSubscription``): one durable consumer per partition plus one for the plain
    /// subject, each owned by one member at a time.
    private func subscribePartitioned(
        subject: String, topic: String, group: String, deadLetterSubject: String,
        keylessRouting: ActorPool.KeylessRouting, handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        if state.withLock({ $0.shutDown }) { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        let configuration = self.configuration
        let connection = self.connection
        let subjects = configuration.subjects
        let durable = try NATSSubjects.durableName(
            prefix: configuration.consumer.durablePrefix, topic: topic, group: group)
        let lanes = try laneConsumers(topic: topic, group: group)
        let stream = configuration.stream.name
        let membershipSubject = "_EVENTBUS.MEMBERS.\(stream).\(durable)"
        let reader = try await NativeThread.run(name: "eventbus.nats.subscribe") {
            () throws(EventBusError) -> NativePartitionReader in
            try NativePartitionReader(
                connection: connection, stream: stream, topic: topic, lanes: lanes,
                membershipSubject: membershipSubject, priorityGroup: NATSPartitionedSubscription.priorityGroup,
                settings: configuration.consumer)
        }
        let publisher = self.publisher
        let pool = try ActorPool(
            configuration: configuration.pool.labelled(topic: topic, group: group),
            makeHandler: { handler },
            deadLetterSink: { letter in
                try await publisher.publish(
                    [Self.deadLetterMessage(letter, subject: subject, connection: connection)],
                    subject: deadLetterSubject)
            },
            onOutcomes: { outcomes in reader.settle(outcomes) },
            isCurrent: { message in reader.isCurrent(lane: Int(message.partition), epoch: message.deliveryTag) },
            keylessRouting: keylessRouting)
        let subscription = NATSPartitionedSubscription(
            topic: topic, group: group, reader: reader, pool: pool, settings: configuration.consumer, logger: logger)
        try await admit(subscription, durable: durable, partitions: subjects.partitions)
        return subscription
    }

    /// The durable consumers of (`topic`, `group`) with their filter subjects, in lane order: one per
    /// partition (`<prefix>.<topic>.p.<n>`), then the plain subject (`<prefix>.<topic>`).
    func laneConsumers(topic: String, group: String) throws(EventBusError) -> [(consumer: String, filter: String)] {
        let subjects = configuration.subjects
        let consumers = try NATSSubjects.laneConsumerNames(
            prefix: configuration.consumer.durablePrefix, topic: topic, group: group, partitions: subjects.partitions)
        var filters: [String] = []
        for partition in 0..<subjects.partitions {
            filters.append(try subjects.subject(forTopic: topic, partition: partition))
        }
        filters.append(try subjects.subject(forTopic: topic))
        return Array(zip(consumers, filters)).map { (consumer: $0.0, filter: $0.1) }
    }

    /// Registers a new subscription for health and shutdown, starts it and logs it; throws
    /// `shutDown` when the bus was shut down meanwhile.
    private func admit(
        _ subscription: some NATSMemberSubscription, durable: String, partitions: Int? = nil
    ) async throws(EventBusError) {
        let accepted = state.withLock { state -> Bool in
            guard !state.shutDown else { return false }
            state.subscriptions[ObjectIdentifier(subscription)] = subscription
            return true
        }
        guard accepted else { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        let (topic, group) = (subscription.topic, subscription.group)
        await subscription.start(
            lag: { [weak self] () throws(EventBusError) -> ConsumerLag in
                guard let self else { throw EventBusError(.shutDown, "the NATS bus is gone") }
                return try await self.consumerLag(topic: topic, group: group)
            },
            onClose: { [weak self, weak subscription] in
                if let self, let subscription { self.forget(subscription) }
            })
        var metadata: Logger.Metadata = [
            "eventbus.topic": "\(subscription.topic)", "eventbus.group": "\(subscription.group)",
            "eventbus.durable": "\(durable)",
        ]
        if let partitions { metadata["eventbus.partitions"] = "\(partitions)" }
        logger.info("subscribed", metadata: metadata)
    }

    /// Reads the dead letters of `topic` from the dead-letter stream, for inspection or replay.
    ///
    /// The messages (and the subscription) are named `<topic>.dlq`, as `subscribe` names them.
    ///
    /// Each message carries the original headers plus `X-Error`, `X-Attempts`,
    /// `X-Original-Subject` and `X-Original-Sequence`. Dead letters are never dead-lettered again:
    /// a message whose handler fails every attempt stays unacknowledged and its actor keeps retrying.
    ///
    /// Throws `invalidArgument` unless `<topic>.dlq` and `group` follow `EventBusNames`.
    public func subscribeDeadLetters(
        topic: String, group: String, handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        try EventBusNames.validateSubscription(
            topic: topic + configuration.deadLetter.subjectSuffix, group: group,
            deadLetterSuffix: configuration.deadLetter.subjectSuffix)
        let subject = try configuration.subjects.deadLetterSubject(forTopic: topic)
        let durable = try NATSSubjects.deadLetterDurableName(
            prefix: configuration.consumer.durablePrefix, topic: topic, group: group)
        return try await subscribe(
            stream: configuration.effectiveDeadLetterStreamName, subject: subject, durable: durable,
            topic: topic + configuration.deadLetter.subjectSuffix,
            group: group, deadLetterSubject: nil, handler: handler)
    }

    private func subscribe(
        stream: String, subject: String, durable: String, topic: String, group: String, deadLetterSubject: String?,
        handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        if state.withLock({ $0.shutDown }) { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        let configuration = self.configuration
        let connection = self.connection
        let consumer = try await NativeThread.run(name: "eventbus.nats.subscribe") {
            () throws(EventBusError) -> NativePullConsumer in
            try NativePullConsumer(
                connection: connection, stream: stream, subject: subject, durable: durable,
                topic: topic, settings: configuration.consumer)
        }
        let publisher = self.publisher
        let logger = self.logger
        let pool = try ActorPool(
            configuration: configuration.pool.labelled(topic: topic, group: group),
            makeHandler: { handler },
            deadLetterSink: { letter in
                guard let deadLetterSubject else {
                    throw EventBusError(.invalidArgument, "dead letters are not dead-lettered again", isRetriable: true)
                }
                try await publisher.publish(
                    [Self.deadLetterMessage(letter, subject: subject, connection: connection)],
                    subject: deadLetterSubject)
            },
            onOutcomes: { outcomes in
                NATSSubscription.settle(outcomes, consumer: consumer, logger: logger)
            })
        let subscription = NATSSubscription(
            topic: topic, group: group, consumer: consumer, pool: pool, settings: configuration.consumer,
            logger: logger)
        try await admit(subscription, durable: durable)
        return subscription
    }

    /// Reports the connection, subscriptions and counters (`Docs/Observability.md`, "Health").
    ///
    /// `healthy` needs nats.c to report the connection connected **and** the server to answer a
    /// `PING` within ``NATSConfiguration/HealthSettings/probeTimeout``. While it is disconnected,
    /// reconnecting or silent, `degraded`; `unhealthy` once it has been so for
    /// ``NATSConfiguration/HealthSettings/unhealthyAfter``, after nats.c closed the connection
    /// (reconnect attempts exhausted) or after `shutdown()`. A stalled subscription or a partition
    /// consumer missing on the server is `degraded`; so is, while the server answers and with
    /// `ActorPoolConfiguration.maxConsumerLag` set, a subscribed (topic, group) lagging more.
    /// `eventbus.cause` names why.
    public func health() async -> BusHealth {
        let (subscriptions, shutDown) = state.withLock { (Array($0.subscriptions.values), $0.shutDown) }
        let (connectivity, verdict) = shutDown ? ([:], nil) : await connectivity()
        let connectionState = connection.state
        var details: [String: String] = [
            "eventbus.backend": "nats",
            "eventbus.nats.connection": connectionState.rawValue,
            "eventbus.nats.reconnects": String(connection.events.reconnectCount),
            "eventbus.nats.disconnects": String(connection.events.disconnectCount),
            "eventbus.subscriptions": String(subscriptions.count),
            "eventbus.publish.in_flight": String(publisher.inFlight),
            "eventbus.publish.duplicates": String(duplicates.count),
            "eventbus.consume.unacknowledged": String(subscriptions.reduce(0) { $0 + $1.unsettledCount }),
            "eventbus.consume.fetch_errors": String(subscriptions.reduce(0) { $0 + $1.fetchErrorCount }),
            "eventbus.consume.consumers_recreated": String(subscriptions.reduce(0) { $0 + $1.recreatedConsumerCount }),
        ]
        details.merge(connectivity) { _, probed in probed }
        let missing = subscriptions.reduce(0) { $0 + $1.missingConsumerCount }
        let stalls = subscriptions.compactMap { subscription in
            subscription.stallDescription.map { "\(subscription.topic)/\(subscription.group): \($0)" }
        }
        if !stalls.isEmpty {
            details["eventbus.consume.stalled_subscriptions"] = String(stalls.count)
            details["eventbus.cause"] = "stalled: " + stalls.joined(separator: "; ")
        }
        if missing > 0 {
            details["eventbus.consume.missing_consumers"] = String(missing)
            details["eventbus.cause"] =
                "\(missing) partition consumer(s) vanished from the server and are not yet created again"
        }
        var lagging = false
        if verdict == nil, !shutDown {
            let members = subscriptions.map {
                LagHealth.Member(topic: $0.topic, group: $0.group, metrics: $0.metrics)
            }
            lagging = await LagHealth.check(
                bound: configuration.pool.maxConsumerLag, members: members, details: &details
            ) { topic, group throws(EventBusError) in try await consumerLag(topic: topic, group: group) }
        }
        var status: BusHealth.Status = missing > 0 || !stalls.isEmpty || lagging ? .degraded : .healthy
        if let verdict {
            // The connection is the root cause: it comes first, the consumers' symptoms after it.
            details["eventbus.cause"] = [verdict.cause, details["eventbus.cause"]].compactMap { $0 }
                .joined(separator: "; ")
            status = verdict.status
        }
        if shutDown {
            details["eventbus.shutdown"] = "true"
            details["eventbus.cause"] = "the bus was shut down"
            status = .unhealthy
        }
        return BusHealth(status: status, details: details)
    }

    /// The connection's part of health: its details, and a status (`degraded` or `unhealthy`)
    /// with the cause when it is not serving. Probes the server with one bounded round trip while
    /// nats.c reports the connection connected.
    private func connectivity() async -> ([String: String], (status: BusHealth.Status, cause: String)?) {
        let connection = self.connection
        let events = connection.events
        let settings = configuration.health
        var details: [String: String] = [:]
        switch connection.state {
        case .closed:
            return (details, (.unhealthy, "nats.c closed the connection (reconnect attempts exhausted or closed)"))
        case .connected:
            do {
                let roundTrip = try await NativeThread.run(name: "eventbus.nats.health") {
                    () throws(EventBusError) -> Duration in try connection.roundTrip(timeout: settings.probeTimeout)
                }
                events.markReachable()
                details["eventbus.nats.rtt_us"] = String(roundTrip.nanoseconds / 1_000)
            } catch {
                events.markUnreachable("the server did not answer a PING: \(error.message)")
            }
        case let other:
            events.markUnreachable("the connection is \(other.rawValue)")
        }
        guard let outage = events.unreachable else { return (details, nil) }
        let elapsed = ContinuousClock.now - outage.since
        details["eventbus.nats.unreachable_ms"] = String(elapsed.milliseconds)
        let status: BusHealth.Status = elapsed >= settings.unhealthyAfter ? .unhealthy : .degraded
        return (details, (status, "NATS server unreachable for \(elapsed.milliseconds) ms: \(outage.reason)"))
    }

    /// Reads `group`'s lag on `topic` (see `ConsumerLag`): per lane consumer (one per partition,
    /// then one for the topic's plain subject, numbered after the partitions),
    /// `num_pending + num_ack_pending` from its consumer info; a consumer not created yet counts
    /// every message the stream holds on its filter subject. `<topic>.dlq` reads the group's
    /// dead-letter consumer as partition 0. Each request is bounded by
    /// ``NATSConfiguration/PublishSettings/ackTimeout``.
    public func consumerLag(topic: String, group: String) async throws(EventBusError) -> ConsumerLag {
        let suffix = configuration.deadLetter.subjectSuffix
        try EventBusNames.validateSubscription(topic: topic, group: group, deadLetterSuffix: suffix)
        if isShutDown { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        let prefix = configuration.consumer.durablePrefix
        var lanes: [(consumer: String, filter: String)] = []
        let stream: String
        if let base = EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: suffix) {
            stream = configuration.effectiveDeadLetterStreamName
            lanes.append(
                (
                    try NATSSubjects.deadLetterDurableName(prefix: prefix, topic: base, group: group),
                    try configuration.subjects.deadLetterSubject(forTopic: base)
                ))
        } else {
            stream = configuration.stream.name
            let subjects = configuration.subjects
            let consumers = try NATSSubjects.laneConsumerNames(
                prefix: prefix, topic: topic, group: group, partitions: subjects.partitions)
            var filters: [String] = []
            for partition in 0..<subjects.partitions {
                filters.append(try subjects.subject(forTopic: topic, partition: partition))
            }
            filters.append(try checkedSubject(topic))
            lanes = Array(zip(consumers, filters)).map { (consumer: $0.0, filter: $0.1) }
        }
        let connection = self.connection
        let timeout = configuration.publish.ackTimeout
        let readLanes = lanes
        let lags = try await NativeThread.run(name: "eventbus.nats.lag") {
            () throws(EventBusError) -> [ConsumerLag.Partition] in
            var lags: [ConsumerLag.Partition] = []
            for (index, lane) in readLanes.enumerated() {
                var backlog = try connection.consumerBacklog(stream: stream, name: lane.consumer, timeout: timeout)
                if backlog == nil {
                    // Not created yet: it would start at the stream's first message on its subject.
                    backlog = try connection.storedMessages(stream: stream, filter: lane.filter, timeout: timeout)
                }
                lags.append(ConsumerLag.Partition(partition: Int32(index), lag: backlog ?? 0))
            }
            return lags
        }
        return ConsumerLag(topic: topic, group: group, partitions: lags)
    }

    /// Forgets a subscription the caller closed, so health stops counting it.
    func forget(_ subscription: any NATSMemberSubscription) {
        state.withLock { _ = $0.subscriptions.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    /// Closes subscriptions, waits for outstanding PubAcks (up to the ack timeout), closes the
    /// connection; publishes still unacknowledged then fail retriably.
    public func shutdown() async {
        let subscriptions = state.withLock { state -> [any NATSMemberSubscription]? in
            guard !state.shutDown else { return nil }
            state.shutDown = true
            return Array(state.subscriptions.values)
        }
        guard let subscriptions else { return }
        pipelineWindow.close()
        for subscription in subscriptions { await subscription.close() }
        await publisher.close()
        let connection = self.connection
        let timeout = configuration.publish.ackTimeout
        _ = try? await NativeThread.run(name: "eventbus.nats.close") { () throws(EventBusError) in
            connection.waitForPublishes(timeout: timeout)
            connection.close()
        }
        connection.pending.failAll(
            EventBusError(.shutDown, "the NATS connection closed before a PubAck arrived", isRetriable: true))
        logger.info("NATS event bus shut down")
    }

    /// Runs until graceful shutdown, then shuts the bus down.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// What the bus needs of its subscriptions, partitioned or not: health counters and closing.
protocol NATSMemberSubscription: Subscription, AnyObject {
    /// Fetch failures so far.
    var fetchErrorCount: Int { get }
    /// Messages fetched and not yet acknowledged.
    var unsettledCount: Int { get }
    /// Starts fetching; `lag` reads the subscription's lag for its gauges; `onClose` runs once the
    /// subscription closed.
    func start(
        lag: @escaping @Sendable () async throws(EventBusError) -> ConsumerLag, onClose: @escaping @Sendable () -> Void
    ) async
    /// The subscription's metrics; nil when they are off.
    var metrics: SubscriptionMetrics? { get }
    /// Consumers of this subscription that vanished from the server and are not yet created again.
    var missingConsumerCount: Int { get }
    /// Why the subscription is stalled; nil while it makes progress.
    var stallDescription: String? { get }
    /// Consumers this subscription created again after they vanished.
    var recreatedConsumerCount: Int { get }
}

extension NATSMemberSubscription {
    var missingConsumerCount: Int { 0 }
    var recreatedConsumerCount: Int { 0 }
}

extension NATSSubscription: NATSMemberSubscription {}
extension NATSPartitionedSubscription: NATSMemberSubscription {}

extension NATSEventBus {
    package var messagingSystem: String { MessagingSystem.nats }
}
