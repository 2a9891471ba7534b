import EventBus

extension KafkaEventBus {
    /// Creates `topics` and their dead-letter topics with ``KafkaTopicOptions/partitions`` partitions
    /// and ``KafkaTopicOptions/replicationFactor`` replicas (defaults 3 and 1); see
    /// ``provision(topics:partitions:replicationFactor:)``.
    public func provision(topics: [String]) async throws(EventBusError) {
        try await provision(
            topics: topics, partitions: configuration.topics.partitions,
            replicationFactor: configuration.topics.replicationFactor)
    }

    /// Creates `topics` and their dead-letter topics (`<topic><deadLetterSuffix>`, same layout)
    /// through the admin API (CreateTopics), so that other services can publish first with the
    /// partition count this bus's consumers expect. Works whatever ``KafkaTopicOptions/provisioning``
    /// says: calling it is the explicit request.
    ///
    /// Without it, a foreign producer that goes first lets the broker auto-create the topic with the
    /// broker's default partition count (`num.partitions`; Tansu 0.6 makes 4), not this bus's.
    ///
    /// Idempotent: a topic that already has `partitions` partitions and `replicationFactor` replicas
    /// is left untouched, messages included. A topic with another partition count or replication
    /// factor throws `topicMismatch` (field `partitions` or `replicationFactor`) naming both values;
    /// partitions are never added, because that moves keys to other partitions and breaks per-key
    /// order for messages already stored. Topics are checked from the cluster's metadata over all
    /// topics, which does not auto-create them.
    ///
    /// - Parameters:
    ///   - topics: names following `EventBusNames`; a dead-letter topic name is provisioned alone.
    ///   - partitions: at least 1.
    ///   - replicationFactor: at least 1, at most the number of brokers.
    /// - Throws: `invalidArgument` for a bad name or count (before any broker call, or from the broker:
    ///   a replication factor above the broker count, a refused policy); `topicMismatch`
    ///   as above; `connectionFailed`, `authenticationFailed`, `unsupported` or `timeout` (each
    ///   call bounded by ``KafkaTopicOptions/operationTimeout``) when the cluster cannot be used;
    ///   `shutDown` after `shutdown()`.
    public func provision(
        topics: [String], partitions: Int, replicationFactor: Int
    ) async throws(EventBusError) {
        let suffix = configuration.topics.deadLetterSuffix
        guard partitions >= 1 else {
            throw EventBusError(
                .invalidArgument, "partitions must be at least 1, not \(partitions)", field: "partitions")
        }
        guard replicationFactor >= 1 else {
            throw EventBusError(
                .invalidArgument, "replicationFactor must be at least 1, not \(replicationFactor)",
                field: "replicationFactor")
        }
        var names: [String] = []
        for topic in topics {
            try EventBusNames.validateTopic(topic, deadLetterSuffix: suffix)
            names.append(topic)
            if EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: suffix) == nil {
                names.append(configuration.topics.deadLetterTopic(for: topic))
            }
        }
        if isShutDown.load(ordering: .acquiring) {
            throw EventBusError(.shutDown, "the Kafka event bus was shut down")
        }
        try startPollerIfNeeded()
        let producer = self.producer
        let timeout = Int32(KafkaConfiguration.milliseconds(configuration.topics.operationTimeout)) ?? 10_000
        let wanted = RDKafkaTopicLayout(partitions: partitions, replicationFactor: replicationFactor)
        for name in names {
            let result = try await DedicatedThread.run { () -> Result<Bool, EventBusError> in
                do throws(EventBusError) {
                    return .success(try Self.provision(name, wanted, producer: producer, timeoutMilliseconds: timeout))
                } catch {
                    return .failure(error)
                }
            }
            let created = try result.get()
            state.withLock { _ = $0.knownTopics.insert(name) }
            logger.info(
                created ? "topic created" : "topic already provisioned",
                metadata: [
                    "eventbus.topic": "\(name)", "eventbus.partitions": "\(partitions)",
                    "eventbus.replication_factor": "\(replicationFactor)",
                ])
        }
    }

    /// Creates `topic` with `wanted` unless it exists, then checks the layout the cluster reports;
    /// returns whether this call created it. Blocking.
    private static func provision(
        _ topic: String, _ wanted: RDKafkaTopicLayout, producer: RDKafkaProducer, timeoutMilliseconds: Int32
    ) throws(EventBusError) -> Bool {
        if let existing = try producer.topicLayout(topic, timeoutMilliseconds: timeoutMilliseconds) {
            try check(topic, existing, wanted)
            return false
        }
        // An existing topic (another process created it meanwhile) counts as success; the check
        // below compares its layout.
        try producer.createTopic(
            topic, partitions: wanted.partitions, replicationFactor: wanted.replicationFactor,
            timeoutMilliseconds: timeoutMilliseconds)
        // The controller answers CreateTopics before every broker's metadata names the topic.
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutMilliseconds))
        while true {
            if let layout = try producer.topicLayout(topic, timeoutMilliseconds: timeoutMilliseconds) {
                try check(topic, layout, wanted)
                return true
            }
            guard ContinuousClock.now < deadline else {
                throw EventBusError(
                    .timeout, "topic '\(topic)' was created but the cluster's metadata does not name it yet",
                    isRetriable: true)
            }
            DedicatedThread.pause(milliseconds: 20)
        }
    }

    private static func check(
        _ topic: String, _ found: RDKafkaTopicLayout, _ wanted: RDKafkaTopicLayout
    ) throws(EventBusError) {
        if found.partitions != wanted.partitions {
            throw EventBusError(
                .topicMismatch,
                "topic '\(topic)' exists with \(found.partitions) partitions, \(wanted.partitions) were asked; "
                    + "provisioning never changes partitions (adding some would move keys and break per-key order)",
                field: "partitions")
        }
        if found.replicationFactor != wanted.replicationFactor {
            throw EventBusError(
                .topicMismatch,
                "topic '\(topic)' exists with replication factor \(found.replicationFactor), "
                    + "\(wanted.replicationFactor) was asked; provisioning never changes it",
                field: "replicationFactor")
        }
    }
}
