import CoreMetrics
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The typed handlers of one subscription, one per event type, with the upcasters that bring older
/// payloads up to date and the policy for event types nobody registered.
///
/// Build it as a value and hand it to ``EventBus/subscribe(topic:group:handlers:)``:
///
/// ```swift
/// var handlers = DomainEventHandlers(unknownEventTypes: .skip)
/// handlers.handle(OrderPlaced.self) { order, context in
///     try await billing.charge(order.orderID, cents: order.totalCents)
/// }
/// handlers.upcast(OrderPlaced.self, from: 1) { v1 in      // v1 had "total" in euros as a number
///     var v2 = v1
///     v2["totalCents"] = .integer(Int64(((v1["total"]?.doubleValue ?? 0) * 100).rounded()))
///     v2["total"] = nil
///     return v2
/// }
/// let subscription = try await bus.subscribe(topic: "orders", group: "billing", handlers: handlers)
/// ```
///
/// For each envelope the subscription looks up `event_type`, brings the payload from its
/// `event_version` to the registered type's ``DomainEvent/schemaVersion`` through the upcasters
/// (one step per version, in order), decodes it with ``decoder`` and calls the handler. Dispatch,
/// ordering per aggregate, retries and dead letters are those of the envelope subscription: a
/// handler that throws is restarted and retried like any other, but what retrying cannot fix fails
/// at once, with a non-retriable ``EventBusError``, and is dead-lettered after one attempt:
/// - the payload does not decode into the registered type, or an upcaster threw or produced a value
///   that is not JSON: ``EventBusError/Code/eventDecodingFailed`` (`underlying`: the `DecodingError`
///   or the upcaster's error);
/// - `event_version` is newer than the registered ``DomainEvent/schemaVersion``, or older with a
///   missing step in the upcaster chain: ``EventBusError/Code/unsupportedSchemaVersion``;
/// - no handler for `event_type` under ``UnknownEventTypePolicy/deadLetter``:
///   ``EventBusError/Code/unknownEventType``.
public struct DomainEventHandlers: Sendable {
    /// A handler that takes an envelope with a registered event type and does the rest.
    typealias Route = @Sendable (Envelope, _ payload: [UInt8], JSONDecoder) async throws -> Void
    /// One step from a schema version to the next.
    public typealias Upcaster = @Sendable (JSONValue) throws -> JSONValue

    struct Registration: Sendable {
        var schemaVersion: Int64
        var route: Route
    }

    /// What to do with an event type that has no handler. Default ``UnknownEventTypePolicy/skip``.
    public var unknownEventTypes: UnknownEventTypePolicy
    /// Decodes payloads into the registered types. Default: a plain `JSONDecoder` (keys as written,
    /// dates as `Double` seconds since 2001, Foundation's default); set strategies to match what the
    /// publishers' encoders write. ``EventTimestamp`` fields read Go's `time.Time` JSON whatever the
    /// date strategy.
    public var decoder: JSONDecoder
    /// Where skipped unknown event types are logged (debug level). Default label `eventbus.typed`.
    public var logger: Logger
    /// Where `eventbus_typed_events_skipped_total` is reported. Default: the bootstrapped
    /// `MetricsSystem`.
    public var metricsFactory: any MetricsFactory

    private(set) var registrations: [String: Registration] = [:]
    private(set) var upcasters: [String: [Int64: Upcaster]] = [:]
    /// Registration mistakes, reported by ``validate()`` rather than at each call so the builder
    /// stays free of `try`.
    private var problems: [String] = []

    /// Creates an empty set of handlers.
    public init(
        unknownEventTypes: UnknownEventTypePolicy = .skip,
        decoder: JSONDecoder = JSONDecoder(),
        logger: Logger = Logger(label: "eventbus.typed"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.unknownEventTypes = unknownEventTypes
        self.decoder = decoder
        self.logger = logger
        self.metricsFactory = metricsFactory
    }

    /// The event types with a handler, with the schema version each expects.
    public var registeredEventTypes: [String: Int64] { registrations.mapValues(\.schemaVersion) }

    /// Registers `handler` for events of `Event.eventType`.
    ///
    /// Registering a second handler for the same event type is a mistake ``validate()`` reports
    /// (`invalidArgument`): one event type decodes into one Swift type.
    public mutating func handle<Event: DomainEvent>(
        _ type: Event.Type,
        _ handler: @escaping @Sendable (Event, DomainEventContext) async throws -> Void
    ) {
        let eventType = Event.eventType
        if registrations[eventType] != nil {
            problems.append("event type \"\(eventType)\" has two handlers (the second for \(Event.self))")
            return
        }
        registrations[eventType] = Registration(schemaVersion: Event.schemaVersion) { envelope, payload, decoder in
            let event: Event
            do {
                event = try decoder.decode(Event.self, from: Data(payload))
            } catch {
                throw EventBusError(
                    .eventDecodingFailed,
                    "payload of \(eventType) v\(envelope.eventVersion) (event \(envelope.eventID)) does not decode "
                        + "into \(Event.self) v\(Event.schemaVersion): \(Self.describe(error))",
                    field: "payload", isRetriable: false, underlying: error)
            }
            try await handler(event, DomainEventContext(envelope: envelope))
        }
    }

    /// Registers `handler` for events of `Event.eventType`, for handlers that need no envelope data.
    public mutating func handle<Event: DomainEvent>(
        _ type: Event.Type,
        _ handler: @escaping @Sendable (Event) async throws -> Void
    ) {
        handle(type) { event, _ in try await handler(event) }
    }

    /// Registers the step that turns a payload of `Event.eventType` at schema version `version` into
    /// one at `version + 1`.
    ///
    /// Upcasters run in a chain, oldest first, before the payload is decoded: an event published at
    /// version 1 for a type now at version 3 passes the 1→2 and the 2→3 steps. Each works on the JSON
    /// (``JSONValue``), because the old shape is no longer a Swift type. ``validate()`` reports
    /// (`invalidArgument`) a step for a type without a handler, a `version` outside
    /// `1..<Event.schemaVersion`, and a second step from the same version.
    public mutating func upcast<Event: DomainEvent>(
        _ type: Event.Type, from version: Int64, _ upcaster: @escaping Upcaster
    ) {
        let eventType = Event.eventType
        guard version >= 1, version < Event.schemaVersion else {
            problems.append(
                "upcaster of \"\(eventType)\" from version \(version): must be from 1..<\(Event.schemaVersion), "
                    + "the versions below \(Event.self).schemaVersion")
            return
        }
        if upcasters[eventType, default: [:]][version] != nil {
            problems.append("event type \"\(eventType)\" has two upcasters from version \(version)")
            return
        }
        upcasters[eventType, default: [:]][version] = upcaster
    }

    /// Throws `invalidArgument` naming the first registration mistake: two handlers for one event
    /// type, a blank event type, a schema version below 1, an upcaster for an event type without a
    /// handler or from a version outside `1..<schemaVersion`, or two upcasters from one version.
    /// ``EventBus/subscribe(topic:group:handlers:)`` calls it before subscribing.
    public func validate() throws(EventBusError) {
        if let problem = problems.first {
            throw EventBusError(.invalidArgument, problem, field: "handlers")
        }
        for (eventType, registration) in registrations.sorted(by: { $0.key < $1.key }) {
            guard eventType.contains(where: { !$0.isWhitespace }) else {
                throw EventBusError(.invalidArgument, "an event type is blank: \"\(eventType)\"", field: "eventType")
            }
            guard registration.schemaVersion >= 1 else {
                throw EventBusError(
                    .invalidArgument,
                    "\(eventType).schemaVersion is \(registration.schemaVersion); it must be 1 or more "
                        + "(event_version must be positive)",
                    field: "schemaVersion")
            }
        }
        for eventType in upcasters.keys.sorted() where registrations[eventType] == nil {
            throw EventBusError(
                .invalidArgument, "upcasters for \"\(eventType)\", which has no handler", field: "handlers")
        }
    }

    /// A `DecodingError` as one line: the path to the culprit and what was wrong.
    static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "at the top level" : "at \(keys)"
        }
        switch decoding {
        case .keyNotFound(let key, let context):
            return "key \"\(key.stringValue)\" not found \(path(context))"
        case .typeMismatch(let type, let context):
            return "expected \(type) \(path(context)): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "expected \(type), found null \(path(context))"
        case .dataCorrupted(let context):
            return "data corrupted \(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(decoding)"
        }
    }
}
