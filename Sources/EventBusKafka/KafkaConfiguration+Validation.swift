import EventBus

extension KafkaConfiguration {
    /// Throws the first value that is out of range or inconsistent; the bus calls it again when built,
    /// because the fields are mutable.
    public func validate() throws(EventBusError) {
        guard !bootstrapServers.isEmpty else {
            throw invalid("at least one bootstrap server is required", "bootstrapServers")
        }
        for server in bootstrapServers {
            let parts = server.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2, !parts[0].isEmpty, let port = Int(parts[parts.count - 1]),
                (1...65535).contains(port)
            else {
                throw invalid("bootstrap server '\(server)' is not host:port", "bootstrapServers")
            }
        }
        guard !clientID.isEmpty else { throw invalid("clientID must not be empty", "clientID") }
        guard health.probeTimeout > .zero, health.unhealthyAfter >= .zero else {
            throw invalid("health.probeTimeout must be positive and health.unhealthyAfter not negative", "health")
        }
        if producer.idempotent && producer.acks != .all {
            throw invalid("an idempotent producer requires acks=all", "producer.acks")
        }
        guard producer.linger >= .zero, producer.linger <= .seconds(900) else {
            throw invalid("linger must be between 0 and 900 s", "producer.linger")
        }
        guard producer.batchSizeBytes >= 1 else {
            throw invalid("batchSizeBytes must be positive", "producer.batchSizeBytes")
        }
        guard producer.messageTimeout >= .milliseconds(1) else {
            throw invalid("messageTimeout must be at least 1 ms", "producer.messageTimeout")
        }
        guard producer.queueCapacity >= 1 else {
            throw invalid("queueCapacity must be positive", "producer.queueCapacity")
        }
        guard consumer.sessionTimeout >= .milliseconds(1) else {
            throw invalid("sessionTimeout must be positive", "consumer.sessionTimeout")
        }
        guard consumer.heartbeatInterval > .zero, consumer.heartbeatInterval < consumer.sessionTimeout
        else {
            throw invalid(
                "heartbeatInterval must be positive and below sessionTimeout",
                "consumer.heartbeatInterval")
        }
        guard consumer.maxPollInterval >= consumer.sessionTimeout else {
            throw invalid(
                "maxPollInterval must not be below sessionTimeout", "consumer.maxPollInterval")
        }
        guard consumer.commitInterval > .zero else {
            throw invalid("commitInterval must be positive", "consumer.commitInterval")
        }
        guard consumer.revocationTimeout >= .zero, consumer.assignmentTimeout > .zero else {
            throw invalid("timeouts must be positive", "consumer.assignmentTimeout")
        }
        guard consumer.pollBatchSize >= 1 else {
            throw invalid("pollBatchSize must be positive", "consumer.pollBatchSize")
        }
        guard consumer.fetchMaxWait >= .zero, consumer.fetchMaxWait <= .seconds(300) else {
            throw invalid("fetchMaxWait must be between 0 and 300 s", "consumer.fetchMaxWait")
        }
        guard topics.partitions >= 1 else {
            throw invalid("partitions must be at least 1", "topics.partitions")
        }
        guard topics.replicationFactor >= 1 else {
            throw invalid("replicationFactor must be at least 1", "topics.replicationFactor")
        }
        // Not empty (dead letters would loop) and legal in a Kafka topic name.
        try EventBusNames.validateDeadLetterSuffix(topics.deadLetterSuffix, field: "topics.deadLetterSuffix")
        guard topics.operationTimeout > .zero else {
            throw invalid("operationTimeout must be positive", "topics.operationTimeout")
        }
        for key in librdkafkaOptions.keys where Self.reservedOptions.contains(key) {
            throw invalid(
                "'\(key)' is managed by the bus and cannot be overridden", "librdkafkaOptions")
        }
        try pool.validate()
    }

    /// Properties the bus's correctness depends on (manual commits, callbacks on our poll thread).
    static let reservedOptions: Set<String> = [
        "enable.auto.commit", "enable.auto.offset.store", "group.id", "log.queue",
    ]

    private func invalid(_ message: String, _ field: String) -> EventBusError {
        EventBusError(.invalidConfiguration, message, field: field)
    }
}
