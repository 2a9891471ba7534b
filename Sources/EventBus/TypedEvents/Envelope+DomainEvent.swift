#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Envelope {
    /// An envelope carrying `event` as its JSON payload, with `event_type` = ``DomainEvent/eventType``
    /// and `event_version` = ``DomainEvent/schemaVersion``.
    ///
    /// The envelope is not validated here; publishing validates it (``EnvelopeCodec/validate(_:)``).
    ///
    /// - Parameters:
    ///   - event: the event; its JSON becomes `payload`.
    ///   - aggregateID: the aggregate it belongs to (`aggregate_id`, and the message key when published).
    ///   - eventID: unique per event (`event_id`). Default: a fresh UUIDv7.
    ///   - timestamp: when it happened (`timestamp`). Default: now.
    ///   - traceID: the trace it was produced in (`trace_id`). Default: none.
    ///   - correlationID: ties together events caused by one request (`correlation_id`). Default: none.
    ///   - tenantID: the tenant it belongs to (`tenant_id`). Default: none.
    ///   - encoder: encodes the event. Default: a `JSONEncoder` with default settings (compact output,
    ///     keys as written, `Date` as seconds since 2001); subscribers' ``DomainEventHandlers/decoder``
    ///     must read what it writes.
    /// - Throws: `invalidArgument` with the `EncodingError` as `underlying` when the event does not
    ///   encode (for example a non-finite `Double`).
    public init(
        event: some DomainEvent,
        aggregateID: String,
        eventID: String = UUIDv7.generate(),
        timestamp: EventTimestamp = .now(),
        traceID: String? = nil,
        correlationID: String? = nil,
        tenantID: String? = nil,
        encoder: JSONEncoder? = nil
    ) throws(EventBusError) {
        let payload: [UInt8]
        do {
            payload = Array(try (encoder ?? Self.defaultEncoder).encode(event))
        } catch {
            throw EventBusError(
                .invalidArgument, "\(type(of: event)) does not encode as JSON: \(error)", field: "payload",
                underlying: error)
        }
        self.init(
            eventID: eventID, aggregateID: aggregateID, eventType: type(of: event).eventType,
            eventVersion: type(of: event).schemaVersion, timestamp: timestamp, traceID: traceID,
            correlationID: correlationID, tenantID: tenantID, payload: payload)
    }

    /// Shared by every typed publish that brings no encoder of its own: `JSONEncoder` is thread-safe
    /// and `Sendable`, and building one per event would cost an allocation each.
    private static let defaultEncoder = JSONEncoder()
}
