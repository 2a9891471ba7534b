import EventBus
import Tracing

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
    /// never left enqueued in part but by shutdown. The idempotent producer (the default) keeps
    /// each partition's order through its own retries.
    public func publishPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) -> PublishReceipt {
        guard !messages.isEmpty else { return .settled }
        let start = ContinuousClock.now
        let topics = publishMetrics == nil ? [] : PublishMetrics.countPerTopic(messages)
        var messages = messages
        // The spans' context goes into the headers, so the size is checked with it.
        let spans = configuration.pool.tracing?.startSends(&messages)
        do throws(EventBusError) {
            try await checkPipelined(messages)
        } catch {
            if let spans { MessageTracing.end(spans, error: error) }
            publishMetrics?.record(topics, since: start, failure: error)
            throw error
        }
        return try await enqueuePipelined(messages, topics: topics, since: start, spans: spans)
    }

    /// Publishes domain events to `topic` as ``publish(_:to:)`` does, pipelined as
    /// ``publishPipelined(_:)-([OutgoingMessage])`` is; each envelope is validated and encoded,
    /// and every record checked, before anything is enqueued.
    public func publishPipelined(_ envelopes: [Envelope], to topic: String) async throws(EventBusError)
        -> PublishReceipt
    {
        guard !envelopes.isEmpty else { return .settled }
        let start = ContinuousClock.now
        let topics = [(topic: topic, count: envelopes.count)]
        var envelopes = envelopes
        var spans: [any Span]?
        var messages: [OutgoingMessage]
        do throws(EventBusError) {
            var traceHeaders: [[MessageHeader]]?
            if let tracing = configuration.pool.tracing {
                let started = tracing.startSends(&envelopes, topic: topic)
                spans = started.0
                traceHeaders = started.1
            }
            messages = try MessageTracing.messages(envelopes, traceHeaders: traceHeaders, topic: topic)
            try await checkPipelined(messages)
        } catch {
            if let spans { MessageTracing.end(spans, error: error) }
            publishMetrics?.record(topics, since: start, failure: error)
            throw error
        }
        return try await enqueuePipelined(messages, topics: topics, since: start, spans: spans)
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
    private func enqueuePipelined(
        _ messages: [OutgoingMessage], topics: [(topic: String, count: Int)], since start: ContinuousClock.Instant,
        spans: [any Span]?
    ) async throws(EventBusError) -> PublishReceipt {
        let metrics = publishMetrics
        let completion = PublishCompletion(count: messages.count) { error in
            metrics?.record(topics, since: start, failure: error)
            if let spans { MessageTracing.end(spans, error: error) }
        }
        if let error = await enqueue(messages, on: producer, completion: completion, wholeCall: true) {
            // Nothing enqueued and nothing settled: the completion's onFinish never runs.
            if let spans { MessageTracing.end(spans, error: error) }
            metrics?.record(topics, since: start, failure: error)
            throw error
        }
        return PublishReceipt(completion)
    }
}
