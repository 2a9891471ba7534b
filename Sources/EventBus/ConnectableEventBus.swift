/// A bus built the way every backend is: `try await Bus.connect(configuration)`.
///
/// `InMemoryEventBus`, `KafkaEventBus` and `NATSEventBus` conform, so code that builds a bus from
/// settings, or a generic test, treats all three alike:
///
/// ```swift
/// func start<Bus: ConnectableEventBus>(_: Bus.Type, _ configuration: Bus.Configuration) async throws -> any EventBus {
///     try await Bus.connect(configuration)
/// }
/// ```
public protocol ConnectableEventBus: EventBus {
    /// The bus's settings. Building one never throws; ``connect(_:)`` validates it.
    associatedtype Configuration: Sendable

    /// Validates `configuration` (the configuration's `validate()`), connects where the backend has
    /// something to connect to, and returns the bus.
    ///
    /// - Throws: ``EventBusError/Code/invalidConfiguration`` naming the field for a bad setting;
    ///   the backend's connection errors (``EventBusError/Code/connectionFailed``,
    ///   ``EventBusError/Code/authenticationFailed``, ``EventBusError/Code/unsupported``) where it
    ///   connects at once.
    static func connect(_ configuration: Configuration) async throws(EventBusError) -> Self
}

extension InMemoryEventBus: ConnectableEventBus {}
