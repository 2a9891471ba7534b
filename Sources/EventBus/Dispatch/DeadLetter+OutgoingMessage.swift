extension DeadLetter {
    /// Header names written on dead-letter messages.
    public enum Header {
        /// The last error the handler threw, on one line.
        public static let error = "X-Error"
        /// How many times a handler was called for the message.
        public static let attempts = "X-Attempts"
        /// The topic the message was read from.
        public static let originalTopic = "X-Original-Topic"
        /// The partition it was read from (0 on backends without partitions).
        public static let originalPartition = "X-Original-Partition"
        /// Its offset (Kafka offset, JetStream stream sequence, in-memory log offset).
        public static let originalOffset = "X-Original-Offset"
        /// `true` when the dead letter carries only the first bytes of the payload (or none): the
        /// whole letter did not fit the broker's message size limit. Absent otherwise.
        public static let payloadTruncated = "X-Payload-Truncated"
        /// The original payload's size in bytes, written beside ``payloadTruncated``.
        public static let originalPayloadSize = "X-Original-Payload-Size"
        /// How many of the original message's own headers were left out because even an empty
        /// payload did not make the letter fit; absent when all were kept.
        public static let originalHeadersDropped = "X-Original-Headers-Dropped"
        /// On a replayed dead letter (``EventBus/replayDeadLetter(_:to:)``): the event ID
        /// (`X-Event-ID`) of the message replayed, or `<topic>/<partition>/<offset>` of it when it
        /// had none.
        public static let replayOf = "X-Replay-Of"
        /// On a replayed dead letter: a fresh UUIDv7 per replay call, the message ID brokers
        /// deduplicate the replay on (NATS `Nats-Msg-Id`), so the replay is not dropped as a copy
        /// of the original while a retried publish of the same replay still is.
        public static let replayID = "X-Replay-ID"
    }

    /// The dead letter as a message for `topic`: original key, payload and headers plus why it failed.
    public func outgoingMessage(topic: String) -> OutgoingMessage {
        // A carried envelope passed validation at publish, so encoding it cannot fail.
        let message = (try? self.message.materialized()) ?? self.message
        var headers = message.headers
        headers.append(MessageHeader(name: Header.error, value: Self.oneLine(errorDescription)))
        headers.append(MessageHeader(name: Header.attempts, value: String(attempts)))
        headers.append(MessageHeader(name: Header.originalTopic, value: message.topic))
        headers.append(MessageHeader(name: Header.originalPartition, value: String(message.partition)))
        headers.append(MessageHeader(name: Header.originalOffset, value: String(message.offset)))
        return OutgoingMessage(topic: topic, key: message.key, headers: headers, payload: message.payload)
    }

    /// The most `X-Error` keeps, in UTF-8 bytes, when a letter's headers must shrink to fit.
    static let shortenedErrorBytes = 1024

    /// `letter` made to fit a broker's size limit, by the policy in `Docs/Reliability.md` ("Dead
    /// letters"); nil when not even its smallest form fits.
    ///
    /// 1. It fits: returned unchanged.
    /// 2. Otherwise the payload is cut to the longest prefix that fits beside the headers plus
    ///    `X-Payload-Truncated: true` and `X-Original-Payload-Size: <bytes>`.
    /// 3. When not even an empty payload fits, the original message's own headers are left out
    ///    (except the `X-Event-*`/`X-Aggregate-ID` identity headers and every `X-Original-*` one),
    ///    `X-Error` is cut to 1,024 bytes and `X-Original-Headers-Dropped: <count>` added; the
    ///    payload gets whatever room is left (with the two truncation headers unless all of it fits).
    ///
    /// A size refusal is final (the same bytes are refused again), so backends fit a letter before
    /// writing it instead of letting the pool retry it.
    ///
    /// - Parameters:
    ///   - letter: the dead letter as the backend would write it (``outgoingMessage(topic:)`` plus
    ///     the backend's own headers).
    ///   - limit: the largest message the broker accepts, in the units of `size`.
    ///   - size: the size the broker counts against `limit`; it must grow by exactly one for each
    ///     payload byte (true of Kafka's record size and of a NATS message's headers plus payload).
    ///     Nil when the message cannot be sized (it is then returned unchanged for the write to fail).
    public static func fitted(
        _ letter: OutgoingMessage, limit: Int, size: (OutgoingMessage) -> Int?
    ) -> OutgoingMessage? {
        guard let full = size(letter) else { return letter }
        if full <= limit { return letter }
        let trimmed = withoutPayload(letter)
        if let fitted = filled(trimmed, from: letter.payload, limit: limit, size: size) { return fitted }

        var minimal = trimmed
        minimal.headers = trimmed.headers.compactMap { header in
            if header.name == Header.error {
                return MessageHeader(
                    name: header.name, value: Self.prefix(header.value, utf8Bytes: shortenedErrorBytes))
            }
            return Self.keepsWhenShrinking(header.name) ? header : nil
        }
        let dropped = trimmed.headers.count - minimal.headers.count
        minimal.headers.append(MessageHeader(name: Header.originalHeadersDropped, value: String(dropped)))
        return filled(minimal, from: letter.payload, limit: limit, size: size)
    }

    /// `letter` with an empty payload and the `X-Payload-Truncated` and `X-Original-Payload-Size`
    /// headers: what a backend writes when the broker refused even a trimmed letter for its size.
    public static func withoutPayload(_ letter: OutgoingMessage) -> OutgoingMessage {
        if letter.headers[header: Header.payloadTruncated] != nil {
            var message = letter
            message.payload = []
            return message
        }
        var message = letter
        message.payload = []
        message.headers.append(MessageHeader(name: Header.payloadTruncated, value: "true"))
        message.headers.append(MessageHeader(name: Header.originalPayloadSize, value: String(letter.payload.count)))
        return message
    }

    /// `message` (with an empty payload) given the longest prefix of `payload` that fits.
    private static func filled(
        _ message: OutgoingMessage, from payload: [UInt8], limit: Int, size: (OutgoingMessage) -> Int?
    ) -> OutgoingMessage? {
        guard let overhead = size(message), overhead <= limit else { return nil }
        var message = message
        message.payload = Array(payload.prefix(limit - overhead))
        if message.payload.count == payload.count {
            // Dropping headers made room for all of it: nothing was truncated.
            message.headers.removeAll { $0.name == Header.payloadTruncated || $0.name == Header.originalPayloadSize }
        }
        return message
    }

    /// The headers a letter keeps when it must shrink: what says where it came from and why it
    /// failed, and which event it was.
    private static func keepsWhenShrinking(_ name: String) -> Bool {
        switch name {
        case Header.error, Header.attempts, Header.payloadTruncated, Header.originalPayloadSize,
            OutgoingMessage.EnvelopeHeader.eventID, OutgoingMessage.EnvelopeHeader.aggregateID,
            OutgoingMessage.EnvelopeHeader.eventType, OutgoingMessage.EnvelopeHeader.eventVersion:
            return true
        default:
            return name.hasPrefix("X-Original-")
        }
    }

    /// The longest prefix of `text` of whole characters within `utf8Bytes` bytes.
    static func prefix(_ text: String, utf8Bytes: Int) -> String {
        guard text.utf8.count > utf8Bytes else { return text }
        var result = ""
        var used = 0
        for character in text {
            let length = character.utf8.count
            guard used + length <= utf8Bytes else { break }
            result.append(character)
            used += length
        }
        return result
    }

    /// The error text with line breaks and NULs as spaces: a multi-line error must still make a
    /// valid header on every backend (NATS headers end at a line break).
    static func oneLine(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        return String(
            decoding: text.utf8.map { $0 == 0 || $0 == 0x0A || $0 == 0x0D ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
