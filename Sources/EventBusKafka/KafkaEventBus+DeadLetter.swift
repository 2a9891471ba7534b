import EventBus

extension KafkaEventBus {
    /// Writes `letter` to its topic's dead-letter topic (original key, value and headers plus the
    /// `X-Error`, `X-Attempts` and `X-Original-*` headers) and returns once the broker acknowledged
    /// it, which is what lets the original offset count as completed.
    ///
    /// Dead letters go through a producer of their own without linger: one actor writes its dead
    /// letters one after another, each waiting for its acknowledgement, so batching delay would be
    /// paid per message. It is created on the first dead letter.
    func writeDeadLetter(_ letter: DeadLetter) async throws(EventBusError) {
        if isShutDown.load(ordering: .acquiring) {
            throw EventBusError(.shutDown, "the Kafka event bus was shut down")
        }
        let topic = configuration.topics.deadLetterTopic(for: letter.message.topic)
        try await ensureTopic(topic)
        try await produce([letter.outgoingMessage(topic: topic)], with: try deadLetterProducer())
    }

    private func deadLetterProducer() throws(EventBusError) -> RDKafkaProducer {
        let result = state.withLock { state -> Result<(RDKafkaProducer, Bool), EventBusError> in
            if let existing = state.deadLetterProducer { return .success((existing, false)) }
            var properties = configuration.producerProperties
            properties["linger.ms"] = "0"
            do throws(EventBusError) {
                let created = try RDKafkaProducer(properties: properties, logger: logger)
                state.deadLetterProducer = created
                return .success((created, true))
            } catch {
                return .failure(error)
            }
        }
        let (producer, created) = try result.get()
        if created {
            do {
                try startPoller(for: producer)
            } catch {
                // Without its poller the producer would never report deliveries: try again next time.
                state.withLock { $0.deadLetterProducer = nil }
                throw error
            }
        }
        return producer
    }
}
