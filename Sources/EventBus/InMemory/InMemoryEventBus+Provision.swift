extension InMemoryEventBus {
    /// Creates `topics` and their dead-letter topics inside the process, each with
    /// ``InMemoryConfiguration/partitionsPerTopic`` partitions; an existing topic is left as it is.
    ///
    /// Nothing here depends on it (topics are created on first use, and a new group starts at the
    /// oldest retained message), but a service that provisions on every backend can call it alike.
    /// Throws `invalidArgument` for a name outside ``EventBusNames`` and `shutDown` after shutdown.
    public func provision(topics: [String]) async throws(EventBusError) {
        let suffix = broker.configuration.deadLetterSuffix
        for topic in topics {
            try EventBusNames.validateTopic(topic, deadLetterSuffix: suffix)
        }
        for topic in topics {
            _ = try broker.topic(topic)
            if EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: suffix) == nil {
                _ = try broker.topic(topic + suffix)
            }
        }
    }
}
