import EventBus

extension KafkaEventBus {
    /// Enqueues `messages` on the producer and returns with a receipt for their delivery reports.
    ///
    /// The topics are checked (and created, when configured to) and every record's size is checked
    /// against ``maxMessageBytes`` first (`invalidArgument`, `topicMismatch`); then nothing of the
    /// call is enqueued. A broker whose topic allows less than `message.max.bytes` refuses a larger
    /// record only in its delivery report. Waits while librdkafka's queue is full
    /// (`queue.buffering.max.messages`): a task cancelled then throws `cancelled` if nothing of the
    /// call is enqueued yet (`shutDown` if the bus shuts down meanwhile), and otherwise waits on
    /// until the whole call is (librdkafka frees room within `message.timeout.ms`), so a call is
    /// never left enqueued in part but by shutdown. A call of which nothing is enqueued when the
    /// producer refuses it (the bus shut down while it waited for room, a fatal producer error)
    /// throws that error rather than returning a failed receipt. The idempotent producer (the
    /// default) keeps each partition's order through its own retries.
    public func publishPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) -> PublishReceipt {
        guard !messages.isEmpty else { return .settled }
        var messages = messages
        let call = PipelinedCall(&messages, tracing: configuration.pool.tracing, metrics: publishMetrics)
        do throws(EventBusError) {
            try await checkPipelined(messages)
        } catch {
            call.fail(error)
            throw error
        }
        return try await enqueuePipelined(messages, call: call)
    }

    /// Publishes domain events to `topic` as ``publish(_:to:)`` does, pipelined as
    /// ``publishPipelined(_:)-([OutgoingMessage])`` is; each envelope is validated and encoded,
    /// and every record checked, before anything is enqueued.
    public func publishPipelined(_ envelopes: [Envelope], to topic: String) async throws(EventBusError)
        -> PublishReceipt
    {
        guard !envelopes.isEmpty else { return .settled }
        let (call, messages) = try PipelinedCall.encoding(
            envelopes, to: topic, tracing: configuration.pool.tracing, metrics: publishMetrics)
        do throws(EventBusError) {
            try await checkPipelined(messages)
        } catch {
            call.fail(error)
            throw error
        }
        return try await enqueuePipelined(messages, call: call)
    }

    /// What a publish checks before enqueueing, plus each record's size, so that a refusal throws
    /// before anything of the call is enqueued.
    private func checkPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) {
        if isShutDown.load(ordering: .acquiring) {
            throw EventBusError(.shutDown, "the Kafka event bus was shut down")
        }
        let limit = maxMessageBytes
        for message in messages {
            let size = Self.recordSize(of: message)
            if size > limit {
                throw EventBusError(
                    .invalidArgument,
                    "the record is \(size) bytes as librdkafka counts it; the producer accepts at most \(limit) (message.max.bytes)",
                    field: "payload")
            }
        }
        try await ensureTopics(of: messages)
        try startPollerIfNeeded()
    }

    /// Enqueues `messages` and returns their receipt; metrics and spans are recorded when the last
    /// delivery report (or failure) settles it.
    private func enqueuePipelined(_ messages: [OutgoingMessage], call: PipelinedCall) async throws(EventBusError)
        -> PublishReceipt
    {
        let completion = call.completion(count: messages.count)
        if let error = await enqueue(messages, on: producer, completion: completion, wholeCall: true) {
            // Nothing enqueued and nothing settled: the completion's onFinish never runs.
            call.fail(error)
            throw error
        }
        return PublishReceipt(completion)
    }
}
