import EventBus

extension KafkaEventBus {
    /// Writes `letter` to its topic's dead-letter topic (original key, value and headers plus the
    /// `X-Error`, `X-Attempts` and `X-Original-*` headers) and returns once the broker acknowledged
    /// it, which is what lets the original offset count as completed.
    func writeDeadLetter(_ letter: DeadLetter) async throws(EventBusError) {
        let topic = configuration.topics.deadLetterTopic(for: letter.message.topic)
        try await publish(letter.outgoingMessage(topic: topic))
    }
}
