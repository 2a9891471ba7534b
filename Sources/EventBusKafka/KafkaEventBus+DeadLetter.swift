import EventBus

extension KafkaEventBus {
    /// Writes `letter` to its topic's dead-letter topic (original key, value and headers plus the
    /// `X-Error`, `X-Attempts` and `X-Original-*` headers) and returns once the broker acknowledged
    /// it, which is what lets the original offset count as completed.
    ///
    /// A letter larger than the producer's `message.max.bytes` (librdkafka's default 1,000,000,
    /// or `librdkafkaOptions["message.max.bytes"]`), which librdkafka would refuse for good, is
    /// written trimmed by `DeadLetter.fitted(_:limit:size:)`; if the broker still refuses it for
    /// its size (a broker limit below the producer's), it is written once more without payload.
    /// Other failures are thrown for the pool to retry or give up on.
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
        let producer = try deadLetterProducer()
        let full = letter.outgoingMessage(topic: topic)
        guard let fitted = DeadLetter.fitted(full, limit: maxMessageBytes, size: { Self.recordSize(of: $0) }) else {
            throw EventBusError(
                .invalidArgument,
                "the dead letter does not fit message.max.bytes (\(maxMessageBytes)) even without payload and headers",
                field: "payload")
        }
        do {
            try await produce([fitted], with: producer)
        } catch  where error.isSizeRefusal && !fitted.payload.isEmpty {
            logger.warning(
                "the broker refused the dead letter for its size; writing it without payload",
                metadata: ["eventbus.topic": "\(topic)", "eventbus.error": "\(error)"])
            try await produce([DeadLetter.withoutPayload(fitted)], with: producer)
        }
    }

    /// The largest record the producer accepts: its `message.max.bytes` (librdkafka's default
    /// 1,000,000, or `librdkafkaOptions["message.max.bytes"]`), counted as librdkafka counts it:
    /// 36 bytes of record overhead, key, value, and per header its name, value and their varint lengths.
    public var maxMessageBytes: Int {
        configuration.producerProperties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000
    }

    /// The size librdkafka checks against `message.max.bytes` when a record is produced
    /// (`rd_kafka_msg_max_wire_size` in rdkafka_msg.h): the worst-case v2 record overhead of 36
    /// bytes, key, value, and per header its name and value with their zigzag-varint lengths.
    static func recordSize(of message: OutgoingMessage) -> Int {
        var size = 36 + (message.key?.utf8.count ?? 0) + message.payload.count
        for header in message.headers {
            let name = header.name.utf8.count
            let value = header.value.utf8.count
            size += name + value + zigzagVarintLength(name) + zigzagVarintLength(value)
        }
        return size
    }

    private static func zigzagVarintLength(_ value: Int) -> Int {
        var encoded = UInt64(value) << 1
        var length = 1
        while encoded >= 0x80 {
            encoded >>= 7
            length += 1
        }
        return length
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
