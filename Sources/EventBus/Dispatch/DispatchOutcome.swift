/// What became of one message the ``ActorPool`` took: the signal a backend acknowledges on.
///
/// It carries only the message's position, not the message, so reporting outcomes copies no
/// payloads or strings on the hot path.
public struct DispatchOutcome: Sendable, Equatable {
    /// How the message left the pool.
    public enum Result: Sendable, Equatable {
        /// A handler returned normally.
        case handled
        /// Every attempt failed and the dead-letter sink accepted the message.
        case deadLettered
        /// Every attempt failed and its dead letter could not be written for a reason retrying
        /// cannot fix (the sink threw an ``EventBusError`` that is not retriable). Acknowledged
        /// like a dead letter, so its key moves on; counted in `eventbus_messages_processed_total`
        /// with `outcome` `discarded` and logged at error level with its position, where the source topic still holds it
        /// for as long as its retention keeps it.
        case discarded
        /// Taken back before a handler finished with it, because its partition was revoked from
        /// this member (``ActorPool/withdrawRevoked()``): not handled, not acknowledged; the
        /// partition's next owner gets it again.
        case withdrawn
    }

    /// The message's ``ReceivedMessage/partition``.
    public var partition: Int32
    /// The message's ``ReceivedMessage/offset``.
    public var offset: Int64
    /// The message's ``ReceivedMessage/deliveryTag``.
    public var deliveryTag: UInt64
    /// How it left the pool.
    public var result: Result
    /// How many times a handler was called for it.
    public var attempts: Int

    /// Creates the outcome of `message`.
    public init(of message: ReceivedMessage, result: Result, attempts: Int) {
        self.partition = message.partition
        self.offset = message.offset
        self.deliveryTag = message.deliveryTag
        self.result = result
        self.attempts = attempts
    }
}
