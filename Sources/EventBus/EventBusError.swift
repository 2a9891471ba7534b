/// The one error type of the `EventBus` module and of every backend.
///
/// Backends translate their native errors into it, keeping the native text in ``message`` and the
/// original error in ``underlying``.
public struct EventBusError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; extensible without breaking callers that switch on known codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A configuration value is out of range or inconsistent.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// An argument (topic, group, message) is not acceptable.
        public static let invalidArgument = Code("invalidArgument")
        /// Bytes could not be decoded as an ``Envelope``; ``EventBusError/field`` names the culprit.
        public static let malformedEnvelope = Code("malformedEnvelope")
        /// An ``Envelope`` violates a validation rule; ``EventBusError/field`` names the culprit.
        public static let invalidEnvelope = Code("invalidEnvelope")
        /// The broker did not acknowledge a publish.
        public static let publishFailed = Code("publishFailed")
        /// A subscription could not be established.
        public static let subscribeFailed = Code("subscribeFailed")
        /// An operation did not complete in time.
        public static let timeout = Code("timeout")
        /// The broker cannot be reached; the message names the cause when the client library
        /// reported one (unknown host, TLS handshake, refused connection).
        public static let connectionFailed = Code("connectionFailed")
        /// The broker refused the credentials (SASL on Kafka; user/password, token or
        /// authorization on NATS); retrying with the same credentials cannot help.
        public static let authenticationFailed = Code("authenticationFailed")
        /// The bus or subscription was shut down.
        public static let shutDown = Code("shutDown")
        /// A topic is missing or does not match what the configuration expects.
        public static let topicMismatch = Code("topicMismatch")
        /// The broker cannot do what was asked (for example a server version without a needed
        /// feature); retrying against the same broker cannot help.
        public static let unsupported = Code("unsupported")
        /// The calling task was cancelled while the operation waited; what it had already handed
        /// to the broker may still take effect (a cancelled publish may have published).
        public static let cancelled = Code("cancelled")
        /// A native library reported an error not covered by another code.
        public static let nativeError = Code("nativeError")
        /// A typed event's payload does not decode into the type registered for its event type, or
        /// an upcaster failed on it (see `Docs/TypedEvents.md`). Never retriable: the same bytes fail
        /// the same way, so the actor pool dead-letters the message after one attempt.
        public static let eventDecodingFailed = Code("eventDecodingFailed")
        /// A typed event's schema version is newer than the version registered for its event type, or
        /// older with no upcaster chain up to it. Never retriable.
        public static let unsupportedSchemaVersion = Code("unsupportedSchemaVersion")
        /// No handler is registered for a typed event's event type and the subscription's
        /// ``UnknownEventTypePolicy`` is ``UnknownEventTypePolicy/deadLetter``. Never retriable.
        public static let unknownEventType = Code("unknownEventType")
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The field at fault, for envelope and configuration errors.
    public var field: String?
    /// Whether trying the same operation again may succeed.
    public var isRetriable: Bool
    /// The error this one was translated from, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(
        _ code: Code,
        _ message: String,
        field: String? = nil,
        isRetriable: Bool = false,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.field = field
        self.isRetriable = isRetriable
        self.underlying = underlying
    }

    public var description: String {
        var text = "EventBusError.\(code): \(message)"
        if let field { text += " (field: \(field))" }
        if let underlying { text += " [underlying: \(underlying)]" }
        return text
    }
}
