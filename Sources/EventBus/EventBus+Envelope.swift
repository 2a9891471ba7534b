extension EventBus {
    /// Publishes a domain event to `topic`, keyed by its aggregate ID.
    public func publish(_ envelope: Envelope, to topic: String) async throws(EventBusError) {
        try await publish([envelope], to: topic)
    }

    /// Encodes each envelope and publishes the raw messages.
    public func publish(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) {
        var messages: [OutgoingMessage] = []
        messages.reserveCapacity(envelopes.count)
        for envelope in envelopes {
            messages.append(try OutgoingMessage(envelope: envelope, topic: topic))
        }
        try await publish(messages)
    }

    /// Publishes and waits; returns a settled receipt.
    public func publishPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) -> PublishReceipt {
        try await publish(messages)
        return .settled
    }

    /// Publishes and waits; returns a settled receipt.
    public func publishPipelined(_ envelopes: [Envelope], to topic: String) async throws(EventBusError)
        -> PublishReceipt
    {
        try await publish(envelopes, to: topic)
        return .settled
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
        try await makeEnvelopeSubscription(topic: topic, group: group, handler: envelopeHandler)
    }

    /// Subscribes a raw handler that decodes each message's bytes as an envelope.
    public func makeEnvelopeSubscription(
        topic: String,
        group: String,
        handler envelopeHandler: @escaping EnvelopeHandler
    ) async throws(EventBusError) -> any Subscription {
        try await subscribe(topic: topic, group: group, handler: envelopeMessageHandler(envelopeHandler))
    }
}

/// The raw handler behind an envelope subscription: the envelope the pool already decoded to
/// route the message (``ActorPool/KeylessRouting/envelopeAggregateID``), or the payload decoded now.
package func envelopeMessageHandler(_ envelopeHandler: @escaping EnvelopeHandler) -> MessageHandler {
    { message in
        if let decoded = message.decodedEnvelope {
            try await envelopeHandler(decoded.envelope)
        } else {
            try await envelopeHandler(decodeEnvelope(of: message))
        }
    }
}

/// The envelope in `message`'s payload, decoded where the payload lies: a backend that reads on
/// demand copies nothing. Not inlined into the handler's closure: its temporaries there made the
/// closure's async frame outgrow the task's first allocator slab, a malloc and a free of a slab
/// for every message (`StackAllocator::alloc` 9x its samples in an extreme-level profile,
/// 2026-11-30).
@inline(never)
private func decodeEnvelope(of message: ReceivedMessage) throws(EventBusError) -> Envelope {
    try message.withPayloadBytes { bytes throws(EventBusError) in try EnvelopeCodec.decode(bytes) }
}
