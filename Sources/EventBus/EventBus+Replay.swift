extension EventBus {
    /// Publishes a dead letter again, as the message it was, for a handler that was fixed.
    ///
    /// Read dead letters by subscribing to `<topic>.dlq` (NATS also offers
    /// `subscribeDeadLetters`) and pass one here. The message published is
    /// ``DeadLetter/replayMessage(of:to:)``: the original key, payload and headers, without the
    /// dead-letter headers, plus `X-Replay-Of` (the original event ID) and `X-Replay-ID` (a fresh
    /// UUIDv7). It goes to `topic`, by default the dead letter's `X-Original-Topic`, so every group
    /// subscribed there receives it, not only the one that failed it.
    ///
    /// The event ID (`X-Event-ID`, and the envelope's `event_id` in the payload) stays: the replay
    /// is the same domain event, and a group that handled it before can drop it by that ID. The
    /// broker's message ID is the replay ID instead, so NATS JetStream, which drops a publish whose
    /// `Nats-Msg-Id` it stored within the duplicate window (2 minutes by default), stores the
    /// replay; republishing the decoded envelope with `publish` would be dropped there.
    ///
    /// Throws `invalidArgument` (field `topic`) when no topic is given and the message has no
    /// `X-Original-Topic` (it is not a dead letter), and (field `payload`) when the dead letter was
    /// truncated to fit the broker (`X-Payload-Truncated`): replay the original from its topic at
    /// `X-Original-Partition`/`X-Original-Offset` instead. Otherwise throws what `publish` throws.
    public func replayDeadLetter(_ deadLetter: ReceivedMessage, to topic: String? = nil) async throws(EventBusError) {
        try await publish(DeadLetter.replayMessage(of: deadLetter, to: topic))
    }
}

extension DeadLetter {
    /// The message ``EventBus/replayDeadLetter(_:to:)`` publishes for `deadLetter`; see there for
    /// what it carries and the errors thrown.
    ///
    /// Removed headers: every ``Header`` a dead letter carries (`X-Error`, `X-Attempts`, every
    /// `X-Original-*` including the NATS `X-Original-Subject` and `X-Original-Sequence`, the
    /// truncation markers), an earlier replay's `X-Replay-Of` and `X-Replay-ID`, and `Nats-Msg-Id`
    /// (the NATS backend delivers the server's deduplication ID as a header; carried over, it would
    /// make the server drop the replay).
    public static func replayMessage(of deadLetter: ReceivedMessage, to topic: String? = nil) throws(EventBusError)
        -> OutgoingMessage
    {
        let letter = try deadLetter.materialized()
        let headers = letter.headers
        guard let target = topic ?? headers[header: Header.originalTopic] else {
            throw EventBusError(
                .invalidArgument,
                "the message has no \(Header.originalTopic) header, so it is not a dead letter; name the topic to replay it to",
                field: "topic")
        }
        if headers[header: Header.payloadTruncated] == "true" {
            let original = headers[header: Header.originalTopic] ?? "its topic"
            throw EventBusError(
                .invalidArgument,
                "the dead letter holds \(letter.payload.count) of \(headers[header: Header.originalPayloadSize] ?? "?") "
                    + "payload bytes (truncated to fit the broker); replay the original from \(original), partition "
                    + "\(headers[header: Header.originalPartition] ?? "?"), offset \(headers[header: Header.originalOffset] ?? "?")",
                field: "payload")
        }
        let replayOf =
            headers[header: OutgoingMessage.EnvelopeHeader.eventID]
            ?? "\(headers[header: Header.originalTopic] ?? target)/\(headers[header: Header.originalPartition] ?? "0")/"
            + "\(headers[header: Header.originalOffset] ?? "?")"
        var kept = headers.filter { !isRemovedOnReplay($0.name) }
        kept.append(MessageHeader(name: Header.replayOf, value: replayOf))
        kept.append(MessageHeader(name: Header.replayID, value: UUIDv7.generate()))
        return OutgoingMessage(topic: target, key: letter.key, headers: kept, payload: letter.payload)
    }

    private static func isRemovedOnReplay(_ name: String) -> Bool {
        switch name {
        case Header.error, Header.attempts, Header.payloadTruncated, Header.originalPayloadSize,
            Header.originalHeadersDropped, Header.replayOf, Header.replayID, "Nats-Msg-Id":
            return true
        default:
            return name.hasPrefix("X-Original-")
        }
    }
}
