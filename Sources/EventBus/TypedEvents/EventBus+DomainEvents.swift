#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension EventBus {
    /// Publishes a typed event of `aggregateID` to `topic` as a jxt-core envelope.
    ///
    /// The payload is the event's JSON (`encoder`, default a `JSONEncoder` with default settings; the
    /// subscribers' ``DomainEventHandlers/decoder`` must read what it writes), `event_type` its
    /// ``DomainEvent/eventType`` and `event_version` its ``DomainEvent/schemaVersion``; the message is
    /// keyed by `aggregateID`, so the aggregate's events keep their publish order. Built by
    /// ``Envelope/init(event:aggregateID:eventID:timestamp:traceID:correlationID:tenantID:encoder:)``.
    ///
    /// Throws `invalidArgument` when the event does not encode (for example a non-finite `Double`),
    /// `invalidEnvelope` when the envelope breaks a jxt-core rule (a blank event type, an aggregate ID
    /// with characters outside `A-Z a-z 0-9 : _ - . /` or longer than 256), and whatever the publish
    /// throws.
    public func publish<Event: DomainEvent>(
        _ event: Event,
        aggregateID: String,
        to topic: String,
        eventID: String = UUIDv7.generate(),
        correlationID: String? = nil,
        tenantID: String? = nil,
        traceID: String? = nil,
        encoder: JSONEncoder? = nil
    ) async throws(EventBusError) {
        let envelope = try Envelope(
            event: event, aggregateID: aggregateID, eventID: eventID, traceID: traceID,
            correlationID: correlationID, tenantID: tenantID, encoder: encoder)
        try await publish([envelope], to: topic)
    }

    /// Publishes typed events of one aggregate, of any event types, in this order.
    ///
    /// Each becomes an envelope as in ``publish(_:aggregateID:to:eventID:correlationID:tenantID:traceID:encoder:)``
    /// with a fresh event ID. Either every event encodes and the batch is published, or the call
    /// throws before publishing anything; the publish itself may fail part-way, as publishing an
    /// array of envelopes can (events before the failure may have been published).
    public func publish(
        _ events: [any DomainEvent],
        aggregateID: String,
        to topic: String,
        correlationID: String? = nil,
        tenantID: String? = nil,
        encoder: JSONEncoder? = nil
    ) async throws(EventBusError) {
        var envelopes: [Envelope] = []
        envelopes.reserveCapacity(events.count)
        for event in events {
            envelopes.append(
                try Envelope(
                    event: event, aggregateID: aggregateID, correlationID: correlationID, tenantID: tenantID,
                    encoder: encoder))
        }
        try await publish(envelopes, to: topic)
    }

    /// Subscribes typed handlers: every envelope of `topic` goes to the handler registered for its
    /// `event_type`, decoded into that handler's type after any upcasting.
    ///
    /// Built on ``makeEnvelopeSubscription(topic:group:handler:)``, so ordering per aggregate,
    /// retries and dead letters are the envelope subscription's; a message that is no envelope is
    /// dead-lettered at once as there. What ``DomainEventHandlers`` documents as unfixable (undecodable
    /// payload, too new a schema version, an unknown type under ``UnknownEventTypePolicy/deadLetter``)
    /// is dead-lettered after one attempt, and the aggregate's later events keep flowing.
    ///
    /// Throws `invalidArgument` for a registration mistake (``DomainEventHandlers/validate()``), and
    /// whatever subscribing throws.
    public func subscribe(
        topic: String,
        group: String,
        handlers: DomainEventHandlers
    ) async throws(EventBusError) -> DomainEventSubscription {
        try handlers.validate()
        let counters = DomainEventSubscription.Counters()
        let inner = try await makeEnvelopeSubscription(
            topic: topic, group: group,
            handler: handlers.envelopeHandler(
                counters: counters, backend: (self as? any MessagingSystemNaming)?.messagingSystem, topic: topic,
                group: group))
        return DomainEventSubscription(inner: inner, counters: counters)
    }
}
