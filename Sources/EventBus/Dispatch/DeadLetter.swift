/// A message that could not be handled, with why and how often it was tried.
public struct DeadLetter: Sendable {
    /// The original message, untouched.
    public var message: ReceivedMessage
    /// The last error a handler threw.
    public var error: any Error
    /// How many times a handler was called for it.
    public var attempts: Int

    /// Creates a dead letter.
    public init(message: ReceivedMessage, error: any Error, attempts: Int) {
        // Content a broker backend deferred is copied out now: a sink may keep the letter after the
        // backend's buffers are gone.
        var message = message
        message.takeDeferredContent()
        self.message = message
        self.error = error
        self.attempts = attempts
    }

    /// The error as text, as written into the `X-Error` header.
    public var errorDescription: String { String(describing: error) }
}

/// Writes a dead letter durably; returning means it is safe to acknowledge the original message.
public typealias DeadLetterSink = @Sendable (DeadLetter) async throws -> Void
