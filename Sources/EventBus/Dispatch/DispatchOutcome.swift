/// What became of one message the ``ActorPool`` took: the signal a backend acknowledges on.
public struct DispatchOutcome: Sendable {
    /// How the message left the pool.
    public enum Result: Sendable, Equatable {
        /// A handler returned normally.
        case handled
        /// Every attempt failed and the dead-letter sink accepted the message.
        case deadLettered
    }

    /// The message, as the backend submitted it.
    public var message: ReceivedMessage
    /// How it left the pool.
    public var result: Result
    /// How many times a handler was called for it.
    public var attempts: Int

    /// Creates an outcome.
    public init(message: ReceivedMessage, result: Result, attempts: Int) {
        self.message = message
        self.result = result
        self.attempts = attempts
    }
}
