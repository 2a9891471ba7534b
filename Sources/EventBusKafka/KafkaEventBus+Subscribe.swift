import EventBus

extension KafkaEventBus {
    /// Joins `group` on `topic` and returns once partitions were assigned; fails with `timeout`
    /// after ``KafkaConsumerOptions/assignmentTimeout`` (for example when the broker is down).
    ///
    /// Throws `invalidArgument` for a topic or group outside `EventBusNames` (checked before any
    /// broker call: `topic` and its dead-letter topic `<topic><deadLetterSuffix>` are legal Kafka
    /// topic names).
    public func subscribe(
        topic: String, group: String, handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        try await subscribe(topic: topic, group: group, keylessRouting: .rotate, handler: handler)
    }

    /// Subscribes a handler of decoded domain events; keyless messages (another client's bare
    /// envelopes) are routed by their envelope's aggregate ID, decoded once.
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
        try EventBusNames.validateSubscription(
            topic: topic, group: group, deadLetterSuffix: configuration.topics.deadLetterSuffix)
        if state.withLock({ $0.shutDown }) {
            throw EventBusError(.shutDown, "the Kafka event bus was shut down")
        }
        try await ensureTopic(topic)
        try await ensureTopic(configuration.topics.deadLetterTopic(for: topic))
        let subscription = try KafkaSubscription(
            topic: topic, group: group, configuration: configuration,
            onClosed: { [weak self] in self?.forget($0) })
        let accepted = state.withLock { state -> Bool in
            guard !state.shutDown else { return false }
            state.subscriptions.append(subscription)
            return true
        }
        guard accepted else { throw EventBusError(.shutDown, "the Kafka event bus was shut down") }
        try await subscription.start(
            poolConfiguration: configuration.pool.labelled(topic: topic, group: group),
            keylessRouting: keylessRouting, handler: handler,
            deadLetterSink: { [weak self] letter in
                guard let self else {
                    throw EventBusError(.shutDown, "the Kafka event bus is gone")
                }
                try await self.writeDeadLetter(letter)
            },
            lag: { [weak self] () throws(EventBusError) -> ConsumerLag in
                guard let self else { throw EventBusError(.shutDown, "the Kafka event bus is gone") }
                return try await self.consumerLag(topic: topic, group: group)
            })
        return subscription
    }
}
