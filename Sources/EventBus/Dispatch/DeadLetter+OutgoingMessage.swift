extension DeadLetter {
    /// Header names written on dead-letter messages.
    public enum Header {
        public static let error = "X-Error"
        public static let attempts = "X-Attempts"
        public static let originalTopic = "X-Original-Topic"
        public static let originalPartition = "X-Original-Partition"
        public static let originalOffset = "X-Original-Offset"
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

    /// The error text with line breaks and NULs as spaces: a multi-line error must still make a
    /// valid header on every backend (NATS headers end at a line break).
    static func oneLine(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        return String(
            decoding: text.utf8.map { $0 == 0 || $0 == 0x0A || $0 == 0x0D ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
