import EventBus

extension KafkaEventBus {
    /// Header names of a dead letter, beside the original message's own headers.
    public enum DeadLetterHeader {
        public static let error = "X-Error"
        public static let attempts = "X-Attempts"
        public static let originalTopic = "X-Original-Topic"
        public static let originalPartition = "X-Original-Partition"
        public static let originalOffset = "X-Original-Offset"
    }

    /// Writes `letter` to its topic's dead-letter topic and returns once the broker acknowledged it,
    /// which is what lets the original offset count as completed.
    func writeDeadLetter(_ letter: DeadLetter) async throws(EventBusError) {
        let original = letter.message
        var headers = original.headers
        headers.append(MessageHeader(name: DeadLetterHeader.error, value: letter.errorDescription))
        headers.append(MessageHeader(name: DeadLetterHeader.attempts, value: String(letter.attempts)))
        headers.append(MessageHeader(name: DeadLetterHeader.originalTopic, value: original.topic))
        headers.append(
            MessageHeader(name: DeadLetterHeader.originalPartition, value: String(original.partition)))
        headers.append(
            MessageHeader(name: DeadLetterHeader.originalOffset, value: String(original.offset)))
        try await publish(
            OutgoingMessage(
                topic: configuration.topics.deadLetterTopic(for: original.topic), key: original.key,
                headers: headers, payload: original.payload))
    }
}
