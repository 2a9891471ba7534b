import Dispatch
import EventBus

extension KafkaEventBus {
    public func publish(_ message: OutgoingMessage) async throws(EventBusError) {
        try await publish([message])
    }

    /// Enqueues every message and waits for their delivery reports with one continuation for the
    /// whole call, so batch publishing costs librdkafka's enqueue plus an atomic decrement per message.
    /// With a tracer, each message is sent inside a producer span whose context goes into its headers.
    public func publish(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        guard let publishMetrics, !messages.isEmpty else { return try await publishMeasured(messages) }
        try await publishMetrics.measure(messages) { () throws(EventBusError) in try await publishMeasured(messages) }
    }

    /// ``publish(_:)-([OutgoingMessage])`` without metrics.
    private func publishMeasured(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        guard let tracing = configuration.pool.tracing else { return try await publishUntraced(messages) }
        try await tracing.send(messages) { messages throws(EventBusError) in try await publishUntraced(messages) }
    }

    /// ``publish(_:)-([OutgoingMessage])`` without spans.
    func publishUntraced(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        guard !messages.isEmpty else { return }
        if isShutDown.load(ordering: .acquiring) {
            throw EventBusError(.shutDown, "the Kafka event bus was shut down")
        }
        try await ensureTopics(of: messages)
        try startPollerIfNeeded()
        try await produce(messages, with: producer)
    }

    /// Enqueues `messages` on `producer` and waits for all their delivery reports.
    func produce(_ messages: [OutgoingMessage], with producer: RDKafkaProducer) async throws(EventBusError) {
        let completion = PublishCompletion(count: messages.count)
        await enqueue(messages, on: producer, completion: completion)
        if let error = await completion.wait() { throw error }
    }

    /// Enqueues `messages` on `producer` in order, each settling `completion` (which counts
    /// `messages.count`) with its delivery report; waits while librdkafka's queue is full. What
    /// cannot be enqueued (refused, the bus shut down, the task cancelled while the queue is full)
    /// is settled at once with the error.
    ///
    /// With `wholeCall` (pipelined calls, whose later calls must not overtake a part left out), a
    /// cancelled task stops waiting only while nothing of the call is enqueued: then nothing is
    /// settled and this returns the error (`cancelled`, or `shutDown` when the bus shut down
    /// meanwhile) for the caller to throw. Once part of the call is enqueued, the rest waits for
    /// room whatever the task's cancellation: a bounded wait, since librdkafka fails what it could
    /// not deliver within `message.timeout.ms` and so frees room. A whole call the producer
    /// refuses before any of it is enqueued (stopped by a shutdown, a fatal error) likewise
    /// returns the error and settles nothing.
    @discardableResult
    func enqueue(
        _ messages: [OutgoingMessage], on producer: RDKafkaProducer, completion: PublishCompletion,
        wholeCall: Bool = false
    ) async -> EventBusError? {
        // Released by the delivery report (or the failure below) that settles the last message.
        let ticket = Unmanaged.passRetained(completion)
        var next = 0
        produceLoop: while next < messages.count {
            switch producer.produce(messages, from: next, ticket: ticket.toOpaque()) {
            case .enqueued:
                break produceLoop
            case .queueFull(let index):
                next = index
                if isShutDown.load(ordering: .acquiring) {
                    if wholeCall, next == 0 {
                        ticket.release()
                        return EventBusError(.shutDown, "the Kafka event bus was shut down")
                    }
                    settle(ticket, messages.count - next, EventBusError(.shutDown, "bus shut down"))
                    break produceLoop
                }
                if Task.isCancelled {
                    if wholeCall, next == 0 {
                        ticket.release()
                        return EventBusError(
                            .cancelled,
                            "the task was cancelled while librdkafka's queue was full; nothing of the call was enqueued"
                        )
                    }
                    if wholeCall {
                        await Self.pauseIgnoringCancellation()
                        continue produceLoop
                    }
                    // Task.sleep would return at once from now on: stop instead of spinning.
                    settle(
                        ticket, messages.count - next,
                        EventBusError(
                            .cancelled,
                            "the task was cancelled while librdkafka's queue was full; \(next) of \(messages.count) messages were enqueued"
                        ))
                    break produceLoop
                }
                // librdkafka's queue drains as the poll thread serves delivery reports.
                try? await Task.sleep(for: .milliseconds(1))
            case .failed(let index, let error):
                if wholeCall, index == 0 {
                    // Nothing of the call was enqueued (a shutdown that stopped the producer
                    // while this call waited for room lands here, not at `queueFull`): the
                    // caller throws, as when the queue stays full past the shutdown.
                    ticket.release()
                    return error
                }
                settle(ticket, messages.count - index, error)
                break produceLoop
            }
        }
        return nil
    }

    /// Waits about a millisecond, also in a cancelled task (where `Task.sleep` returns at once).
    private static func pauseIgnoringCancellation() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(1)) { continuation.resume() }
        }
    }

    private func settle(_ ticket: Unmanaged<PublishCompletion>, _ count: Int, _ error: EventBusError) {
        if ticket.takeUnretainedValue().settle(count, error: error) {
            ticket.release()
        }
    }

    func ensureTopics(of messages: [OutgoingMessage]) async throws(EventBusError) {
        var previous: String?
        for message in messages where message.topic != previous {
            previous = message.topic
            try EventBusNames.validateTopic(message.topic, deadLetterSuffix: configuration.topics.deadLetterSuffix)
            try await ensureTopic(message.topic)
        }
    }

    /// Makes sure `topic` exists (creating it when configured to), once per topic and bus.
    func ensureTopic(_ topic: String) async throws(EventBusError) {
        if state.withLock({ $0.knownTopics.contains(topic) }) { return }
        let options = configuration.topics
        let timeout = Int32(KafkaConfiguration.milliseconds(options.operationTimeout)) ?? 10_000
        let producer = self.producer
        try startPollerIfNeeded()
        let result = try await DedicatedThread.run { () -> Result<Void, EventBusError> in
            do throws(EventBusError) {
                if try !producer.topicExists(topic, timeoutMilliseconds: timeout) {
                    guard options.provisioning == .createIfMissing else {
                        return .failure(
                            EventBusError(
                                .topicMismatch,
                                "topic '\(topic)' does not exist and creation is disabled"))
                    }
                    try producer.createTopic(
                        topic, partitions: options.partitions,
                        replicationFactor: options.replicationFactor, timeoutMilliseconds: timeout)
                }
                try producer.loadMetadata(for: topic, timeoutMilliseconds: timeout)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        state.withLock { _ = $0.knownTopics.insert(topic) }
        logger.debug("topic ready", metadata: ["eventbus.topic": "\(topic)"])
    }
}
