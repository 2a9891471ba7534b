extension KafkaConfiguration {
    /// The librdkafka properties of the producer.
    var producerProperties: [String: String] {
        var properties = commonProperties
        properties["acks"] = producer.acks.rawValue
        properties["enable.idempotence"] = producer.idempotent ? "true" : "false"
        properties["linger.ms"] = Self.milliseconds(producer.linger)
        properties["batch.size"] = String(producer.batchSizeBytes)
        properties["compression.type"] = producer.compression.rawValue
        properties["message.timeout.ms"] = Self.milliseconds(producer.messageTimeout)
        properties["queue.buffering.max.messages"] = String(producer.queueCapacity)
        // The Java client's default partitioner: keys land on the same partition as in Java and Go.
        properties["partitioner"] = "murmur2_random"
        return properties.merging(librdkafkaOptions) { _, raw in raw }
    }

    /// The librdkafka properties of a consumer in `group`.
    func consumerProperties(group: String) -> [String: String] {
        var properties = commonProperties
        properties["group.id"] = group
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["auto.offset.reset"] = consumer.autoOffsetReset.rawValue
        properties["session.timeout.ms"] = Self.milliseconds(consumer.sessionTimeout)
        properties["heartbeat.interval.ms"] = Self.milliseconds(consumer.heartbeatInterval)
        properties["max.poll.interval.ms"] = Self.milliseconds(consumer.maxPollInterval)
        properties["fetch.wait.max.ms"] = Self.milliseconds(consumer.fetchMaxWait)
        var merged = properties.merging(librdkafkaOptions) { _, raw in raw }
        merged["group.id"] = group
        return merged
    }

    private var commonProperties: [String: String] {
        [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "client.id": clientID,
            // Log lines are queued and served by our own poll thread, never a librdkafka thread.
            "log.queue": "true",
        ]
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
