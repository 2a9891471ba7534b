/// A domain event: what happened to which aggregate, in which version, with its payload.
///
/// Its JSON wire format matches the Go jxt-core event bus (see ``EnvelopeCodec``), so services in
/// either language read each other's events.
public struct Envelope: Sendable, Equatable {
    // `payload` is declared first, so the implicit memberwise initializer (`payload:eventID:…`)
    // differs from the public one (`eventID:…payload:`) and the public initializers, declared in
    // an extension, can delegate to it. An initializer that assigns the fields itself builds the
    // envelope in a stack slot and returns a copy of it (Swift 6.3 -O, a struct of this size):
    // a retain and a release of the event ID's storage and of the payload's, which the envelopes
    // of a constant body or a fan-out share, for every envelope made (perf, 1M in-memory run,
    // ~3 % of the CPU under the initializer).

    /// The event's body as raw JSON bytes, embedded as-is in the wire format.
    public var payload: [UInt8]
    /// Unique per event; brokers use it to deduplicate retried publishes.
    public var eventID: String
    /// The aggregate the event belongs to; events of one aggregate are handled in order.
    public var aggregateID: String
    /// What happened, for example `OrderPlaced`.
    public var eventType: String
    /// The event's version, 1 or more (jxt-core's `event_version`, which jxt-core leaves to the
    /// application): raw envelope users commonly store the aggregate's version after this event;
    /// typed events (``DomainEvent``) store the payload's schema version here, which decides the
    /// upcasters run before decoding (see `Docs/TypedEvents.md`).
    public var eventVersion: Int64
    /// When the event happened.
    public var timestamp: EventTimestamp
    /// The distributed trace the event was produced in.
    public var traceID: String?
    /// Ties together events caused by one request.
    public var correlationID: String?
    /// The tenant the event belongs to, in multi-tenant services.
    public var tenantID: String?
}

extension Envelope {
    /// Creates an envelope with a fresh UUIDv7 as its event ID and now as its timestamp, both from
    /// one reading of the clock (the ID's time is the timestamp's, unless the process made a later
    /// ID already). The initializer below, with its defaults, read the clock once for each, and
    /// every clock read was ~1.6 % of an in-memory run's CPU.
    public init(
        aggregateID: String,
        eventType: String,
        eventVersion: Int64,
        traceID: String? = nil,
        correlationID: String? = nil,
        tenantID: String? = nil,
        payload: [UInt8]
    ) {
        let now = EventTimestamp.now()
        self.init(
            payload: payload, eventID: UUIDv7.generate(at: now), aggregateID: aggregateID, eventType: eventType,
            eventVersion: eventVersion, timestamp: now, traceID: traceID, correlationID: correlationID,
            tenantID: tenantID)
    }

    /// Creates an envelope; the event ID defaults to a fresh UUIDv7 and the timestamp to now.
    public init(
        eventID: String = UUIDv7.generate(),
        aggregateID: String,
        eventType: String,
        eventVersion: Int64,
        timestamp: EventTimestamp = .now(),
        traceID: String? = nil,
        correlationID: String? = nil,
        tenantID: String? = nil,
        payload: [UInt8]
    ) {
        self.init(
            payload: payload, eventID: eventID, aggregateID: aggregateID, eventType: eventType,
            eventVersion: eventVersion, timestamp: timestamp, traceID: traceID, correlationID: correlationID,
            tenantID: tenantID)
    }
}
