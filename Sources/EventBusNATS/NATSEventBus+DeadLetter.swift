import EventBus

extension NATSEventBus {
    /// The largest message the server accepts, headers and payload together, in bytes: its
    /// `max_payload` (1 MiB by default), as announced when the connection was made; 0 before that.
    public var maxMessageBytes: Int { connection.knownMaxPayload }

    /// The dead letter of `letter`: the core's dead-letter headers plus the NATS subject and stream
    /// sequence it came from, made to fit the server's `max_payload`.
    ///
    /// nats-server refuses any message whose headers and payload together exceed `max_payload`
    /// (1 MiB by default; the server announces it in its INFO, `natsConnection_GetMaxPayload`), and
    /// a refusal is final, so a letter that would not fit is trimmed by
    /// `DeadLetter.fitted(_:limit:size:)`. Throws `invalidArgument` when not even its smallest
    /// form fits; the pool then gives up on it.
    static func deadLetterMessage(
        _ letter: DeadLetter, subject: String, connection: NativeConnection
    ) throws(EventBusError) -> OutgoingMessage {
        var message = letter.outgoingMessage(topic: letter.message.topic)
        message.headers.append(MessageHeader(name: "X-Original-Subject", value: subject))
        message.headers.append(MessageHeader(name: "X-Original-Sequence", value: String(letter.message.offset)))
        let limit = connection.knownMaxPayload
        // 0 before the first connect: the server's limit is not known yet, and the write fails retriably anyway.
        guard limit > 0 else { return message }
        guard let fitted = DeadLetter.fitted(message, limit: limit, size: { NativeHeaders.wireSize(of: $0) }) else {
            throw EventBusError(
                .invalidArgument,
                "the dead letter does not fit the server's max_payload (\(limit) bytes) even without payload",
                field: "payload")
        }
        return fitted
    }
}
