/// A typed domain event: a `Codable` value that travels as the JSON payload of an ``Envelope``.
///
/// Conform a struct (or enum) per kind of event and give it a stable name and a schema version:
///
/// ```swift
/// struct OrderPlaced: DomainEvent {
///     static let eventType = "OrderPlaced"
///     static let schemaVersion: Int64 = 2
///     var orderID: String
///     var totalCents: Int
/// }
/// ```
///
/// On the wire (jxt-core's envelope, see ``EnvelopeCodec``) the event is the envelope's `payload`, its
/// ``eventType`` is `event_type` and its ``schemaVersion`` is `event_version`, the two places jxt-core
/// keeps an event's kind and version; the aggregate is `aggregate_id`. Publish with
/// ``EventBus/publish(_:aggregateID:to:eventID:correlationID:tenantID:traceID:encoder:)`` and handle with
/// ``EventBus/subscribe(topic:group:handlers:)`` and ``DomainEventHandlers``. `Docs/TypedEvents.md`
/// has the whole picture: upcasting, the unknown-type policy and which failures are dead-lettered at once.
public protocol DomainEvent: Codable, Sendable {
    /// The event's kind on the wire (`event_type`), for example `OrderPlaced`.
    ///
    /// Keep it stable when the Swift type is renamed: subscribers route by this string. It must not be
    /// blank (the envelope rules refuse it at publish).
    static var eventType: String { get }

    /// The version of this type's JSON shape (`event_version`), 1 or more.
    ///
    /// Raise it when the shape changes in a way older payloads no longer decode into, and register an
    /// upcaster from the previous version (``DomainEventHandlers/upcast(_:from:_:)``) so that events
    /// already published still reach the handler.
    static var schemaVersion: Int64 { get }
}
