import EventBus

extension NATSEventBus {
    /// Makes sure the stream and the dead-letter stream exist and capture `topics`; see
    /// ``provision(topics:groups:)``.
    public func provision(topics: [String]) async throws(EventBusError) {
        try await provision(topics: topics, groups: [])
    }

    /// Creates, ahead of time, what other services need to publish to `topics` first and what
    /// `groups` need to receive everything published before they subscribe.
    ///
    /// - The stream (``NATSConfiguration/stream``; default `EVENTBUS`, file storage, limits
    ///   retention, 1 replica, subjects `<prefix>.*` and `<prefix>.*.p.*`) and the dead-letter
    ///   stream (subjects `<prefix>.*<suffix>`), created when missing. `connect` creates them too;
    ///   this call creates them again if they were removed meanwhile, and checks them: an existing
    ///   stream whose storage, retention or replicas differ from the configuration, or whose subjects
    ///   do not capture each topic's plain subject `<prefix>.<topic>` and partition subjects
    ///   `<prefix>.<topic>.p.<n>`, throws `topicMismatch` naming the difference. A foreign JetStream
    ///   publisher to those subjects then gets a PubAck instead of "no responders".
    /// - For every (topic, group): the group's durable consumers, one per partition
    ///   (`<durablePrefix>_<topic>_<group>_p<n>` filtering `<prefix>.<topic>.p.<n>`, n below
    ///   ``NATSConfiguration/partitionsPerTopic``) and one for the plain subject (`…_plain`), with the
    ///   settings `subscribe` uses (deliver all, ack all, ``NATSConfiguration/consumer``). Needed
    ///   when the stream's retention is `interest` or `workQueue`, which keep a message only for
    ///   consumers that exist when it arrives; with the default `limits` retention a group that
    ///   subscribes later reads the stream from its start anyway. A consumer of partition
    ///   `partitionsPerTopic` (one past the last) that exists shows that another process uses more
    ///   partitions: `topicMismatch` (field `partitionsPerTopic`).
    ///
    /// Idempotent: what exists with the same settings is left as it is, messages and consumer
    /// positions included. Streams are never updated, except that a stream made before topics had
    /// partitions (default subjects, without `<prefix>.*.p.*`) gains the partition subjects, as at
    /// `connect`.
    ///
    /// - Throws: `invalidArgument` for a topic or group outside `EventBusNames` or too long for a
    ///   consumer name (before any server call); `topicMismatch` as above; `unsupported` for
    ///   groups on a nats-server older than 2.14; `connectionFailed` or `timeout` when the server
    ///   cannot be used; `shutDown` after `shutdown()`.
    public func provision(topics: [String], groups: [String]) async throws(EventBusError) {
        if isShutDown { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        let configuration = self.configuration
        let suffix = configuration.deadLetter.subjectSuffix
        var subjects: [(topic: String, plain: String, partitions: [String])] = []
        var lanes: [(topic: String, group: String, lanes: [(consumer: String, filter: String)], extra: String)] = []
        for topic in topics {
            try EventBusNames.validateTopic(topic, deadLetterSuffix: suffix)
            // A dead-letter topic is captured by the dead-letter stream, which is always provisioned.
            guard EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: suffix) == nil else { continue }
            let mapping = configuration.subjects
            subjects.append(
                (
                    topic, try mapping.subject(forTopic: topic),
                    try (0..<mapping.partitions).map { (partition) throws(EventBusError) in
                        try mapping.subject(forTopic: topic, partition: partition)
                    }
                ))
            for group in groups {
                try EventBusNames.validateGroup(group)
                let extra = try NATSSubjects.laneConsumerNames(
                    prefix: configuration.consumer.durablePrefix, topic: topic, group: group,
                    partitions: mapping.partitions + 1)[mapping.partitions]
                lanes.append((topic, group, try laneConsumers(topic: topic, group: group), extra))
            }
        }
        let connection = self.connection
        let stream = configuration.stream.name
        let topicSubjects = subjects
        let groupLanes = lanes
        try await NativeThread.run(name: "eventbus.nats.provision") { () throws(EventBusError) in
            let streams = try Self.ensureStreams(connection: connection, configuration: configuration)
            try Self.checkSettings(of: stream, connection: connection, configuration: configuration)
            try Self.checkSettings(
                of: configuration.effectiveDeadLetterStreamName, connection: connection, configuration: configuration)
            for entry in topicSubjects {
                for subject in [entry.plain] + entry.partitions
                where !NATSSubjects.covers(streams.subjects, subject: subject) {
                    throw EventBusError(
                        .topicMismatch,
                        "stream '\(stream)' captures \(streams.subjects), not '\(subject)' (topic '\(entry.topic)')",
                        field: "topic")
                }
                let deadLetterSubject = entry.plain + suffix
                guard NATSSubjects.covers(streams.deadLetterSubjects, subject: deadLetterSubject) else {
                    throw EventBusError(
                        .topicMismatch,
                        "dead-letter stream '\(configuration.effectiveDeadLetterStreamName)' captures "
                            + "\(streams.deadLetterSubjects), not '\(deadLetterSubject)' (topic '\(entry.topic)')",
                        field: "topic")
                }
            }
            for entry in groupLanes {
                if try connection.consumerExists(stream: stream, name: entry.extra) {
                    throw EventBusError(
                        .topicMismatch,
                        "group '\(entry.group)' of topic '\(entry.topic)' has a consumer '\(entry.extra)' for a partition "
                            + "beyond partitionsPerTopic \(configuration.partitionsPerTopic): another process uses more "
                            + "partitions; every process must use the same count",
                        field: "partitionsPerTopic")
                }
                for lane in entry.lanes {
                    try connection.ensureLaneConsumer(
                        stream: stream, name: lane.consumer, filter: lane.filter,
                        group: NATSPartitionedSubscription.priorityGroup, settings: configuration.consumer)
                }
            }
        }
        logger.info(
            "provisioned",
            metadata: [
                "eventbus.stream": "\(stream)", "eventbus.topics": "\(topics)", "eventbus.groups": "\(groups)",
                "eventbus.partitions": "\(configuration.partitionsPerTopic)",
            ])
    }

    /// Throws `topicMismatch` when stream `name`'s storage, retention or replicas differ from
    /// ``NATSConfiguration/stream``. Blocks.
    private static func checkSettings(
        of name: String, connection: NativeConnection, configuration: NATSConfiguration
    ) throws(EventBusError) {
        let found = try connection.streamSettings(name)
        let settings = configuration.stream
        let retention =
            switch settings.retention {
            case .limits: "limits"
            case .interest: "interest"
            case .workQueue: "workqueue"
            }
        let differences = [
            found.storage == settings.storage.rawValue
                ? nil : "storage \(found.storage), not \(settings.storage.rawValue)",
            found.retention == retention ? nil : "retention \(found.retention), not \(retention)",
            found.replicas == settings.replicas ? nil : "\(found.replicas) replicas, not \(settings.replicas)",
        ].compactMap { $0 }
        guard differences.isEmpty else {
            throw EventBusError(
                .topicMismatch,
                "stream '\(name)' exists with " + differences.joined(separator: ", ")
                    + " as configured; provisioning never changes an existing stream",
                field: "stream")
        }
    }
}
