import Synchronization

/// The topics of one in-memory bus; subscriptions and dead-letter writes reach them through it.
final class InMemoryBroker: Sendable {
    private let topics = Mutex<[String: InMemoryTopic]>([:])
    private let closed = Atomic<Bool>(false)
    let configuration: InMemoryConfiguration

    init(configuration: InMemoryConfiguration) {
        self.configuration = configuration
    }

    /// The topic named `name`, created on first use.
    func topic(_ name: String) throws(EventBusError) -> InMemoryTopic {
        guard !closed.load(ordering: .acquiring) else {
            throw EventBusError(.shutDown, "the in-memory bus was shut down")
        }
        return topics.withLock { topics in
            if let topic = topics[name] { return topic }
            let isDeadLetterTopic = name.hasSuffix(configuration.deadLetterSuffix)
            let topic = InMemoryTopic(
                name: name,
                partitions: configuration.partitionsPerTopic,
                capacity: isDeadLetterTopic
                    ? configuration.deadLetterPartitionCapacity : configuration.partitionCapacity
            )
            topics[name] = topic
            return topic
        }
    }

    /// Publishes messages, grouping consecutive messages of one topic into one append.
    func publish(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        var start = 0
        while start < messages.count {
            let name = messages[start].topic
            var end = start + 1
            while end < messages.count && messages[end].topic == name { end += 1 }
            let stored = messages[start..<end].map {
                StoredMessage(key: $0.key, headers: $0.headers, payload: $0.payload)
            }
            try await topic(name).publish(stored)
            start = end
        }
    }

    /// Publishes envelopes to one topic without serializing them; `traceHeaders[i]`, when given,
    /// travels beside envelope `i` (a raw subscriber gets them after the `X-Event-*` headers).
    func publish(
        _ envelopes: [Envelope], to name: String, traceHeaders: [[MessageHeader]]? = nil
    ) async throws(EventBusError) {
        let batch = EnvelopeBatch(envelopes)
        var stored: [StoredMessage] = []
        stored.reserveCapacity(envelopes.count)
        // The storage of the last payload that passed the JSON scan: envelopes of one batch often
        // share one payload array (a constant body, a fan-out), and the same buffer cannot hold
        // other bytes while `envelopes` keeps it alive.
        var scannedPayload: (address: UnsafeRawPointer?, count: Int)?
        for index in envelopes.indices {
            // Lent, not copied: a copy retained and released the event ID's storage and the
            // payload's, which the envelopes of a constant body or a fan-out share, so both cores
            // wrote its reference count (perf, 1M run: ~3 % of the CPU; see `EnvelopeBatch.lend`).
            let key = try batch.lend(index) { envelope throws(EventBusError) -> String in
                try Self.validate(envelope, scannedPayload: &scannedPayload)
                return envelope.aggregateID
            }
            stored.append(StoredMessage(carrying: CarriedEnvelope(batch: batch, index: index), key: key))
            if let traceHeaders { stored[index].headers = traceHeaders[index] }
        }
        try await topic(name).publish(stored)
    }

    /// Validates `envelope`, skipping the payload's JSON scan when its storage is the one that
    /// passed it last (`scannedPayload`, updated here).
    @inline(never)
    private static func validate(
        _ envelope: Envelope, scannedPayload: inout (address: UnsafeRawPointer?, count: Int)?
    ) throws(EventBusError) {
        let payload = envelope.payload.withUnsafeBytes { (address: $0.baseAddress, count: $0.count) }
        let scanned = scannedPayload.map { $0.address == payload.address && $0.count == payload.count } ?? false
        try EnvelopeCodec.validate(envelope, payloadScanned: scanned)
        scannedPayload = payload
    }

    /// Writes a dead letter if its topic has room; throws a retriable error when it is full.
    func publishDeadLetter(_ message: OutgoingMessage) throws(EventBusError) {
        try topic(message.topic).publishIfRoom(
            StoredMessage(key: message.key, headers: message.headers, payload: message.payload)
        )
    }

    /// The topic named `name` if it was used already (published to or subscribed); nil otherwise.
    func existingTopic(_ name: String) -> InMemoryTopic? {
        topics.withLock { $0[name] }
    }

    /// All topics, for draining and health.
    var allTopics: [InMemoryTopic] { topics.withLock { Array($0.values) } }

    /// Refuses further use and wakes publishers waiting for room.
    func close() {
        closed.store(true, ordering: .releasing)
        for topic in allTopics { topic.close() }
    }
}
