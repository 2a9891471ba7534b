import EventBus

/// Package-only access to the producer for this package's tests, which build without testable
/// imports (release CI).
extension KafkaEventBus {
    /// Messages enqueued on the producer whose delivery report has not been served.
    package var outstandingDeliveries: Int { producer.outstanding }

    /// What `shutdown()` does first: every later produce call fails with `shutDown`.
    package func stopProducing() {
        producer.stopProducing()
    }

    /// Raises a fabricated fatal error on the producer (librdkafka's `rd_kafka_test_fatal_error`).
    package func raiseFatalErrorForTesting(reason: String) {
        producer.raiseFatalErrorForTesting(reason: reason)
    }

    /// Enqueues `messages` as a pipelined call does, past its checks.
    package func enqueueWholeCall(
        _ messages: [OutgoingMessage], completion: PublishCompletion
    ) async -> EventBusError? {
        await enqueue(messages, on: producer, completion: completion, wholeCall: true)
    }
}
