extension EventBus {
    /// Publishes a domain event to `topic`, keyed by its aggregate ID.
    public func publish(_ envelope: Envelope, to topic: String) async throws(EventBusError) {
        try await publish(OutgoingMessage(envelope: envelope, topic: topic))
    }

    /// Publishes domain events to `topic`; events of one aggregate keep their order in `envelopes`.
    public func publish(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) {
        var messages: [OutgoingMessage] = []
        messages.reserveCapacity(envelopes.count)
        for envelope in envelopes {
            messages.append(try OutgoingMessage(envelope: envelope, topic: topic))
        }
        try await publish(messages)
    }

    /// Subscribes a handler of decoded domain events.
    ///
    /// A message whose bytes are not a valid envelope is dead-lettered at once with the decode
    /// error (retrying cannot fix malformed bytes); the messages after it keep flowing.
    public func subscribe(
        topic: String,
        group: String,
        envelopeHandler: @escaping EnvelopeHandler
    ) async throws(EventBusError) -> any Subscription {
        try await subscribe(topic: topic, group: group) { message in
            let envelope = try EnvelopeCodec.decode(message.payload)
            try await envelopeHandler(envelope)
        }
    }
}
