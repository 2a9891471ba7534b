/// What a typed handler learns about an event besides the event itself: its envelope.
public struct DomainEventContext: Sendable {
    /// The envelope as it arrived: ``Envelope/payload`` holds the JSON as published (before any
    /// upcasting) and ``Envelope/eventVersion`` the schema version it was published with.
    public var envelope: Envelope

    /// Creates a context; the subscription does this for every event it hands to a handler.
    public init(envelope: Envelope) {
        self.envelope = envelope
    }

    /// The event's unique ID (`event_id`).
    public var eventID: String { envelope.eventID }
    /// The aggregate the event belongs to (`aggregate_id`); events of one aggregate arrive in order.
    public var aggregateID: String { envelope.aggregateID }
    /// The schema version the event was published with (`event_version`); lower than the handled
    /// type's ``DomainEvent/schemaVersion`` when upcasters brought it up to date.
    public var publishedSchemaVersion: Int64 { envelope.eventVersion }
    /// When the event happened (`timestamp`).
    public var timestamp: EventTimestamp { envelope.timestamp }
    /// Ties together events caused by one request (`correlation_id`), if set.
    public var correlationID: String? { envelope.correlationID }
    /// The tenant the event belongs to (`tenant_id`), if set.
    public var tenantID: String? { envelope.tenantID }
    /// The trace the event was produced in (`trace_id`), if set.
    public var traceID: String? { envelope.traceID }
}
