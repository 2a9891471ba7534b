/// Handles one raw message; throwing asks the dispatcher to restart the handler and retry.
public typealias MessageHandler = @Sendable (ReceivedMessage) async throws -> Void

/// Handles one decoded domain event; throwing asks the dispatcher to restart the handler and retry.
public typealias EnvelopeHandler = @Sendable (Envelope) async throws -> Void
