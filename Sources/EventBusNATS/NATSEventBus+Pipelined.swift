import EventBus
import Tracing

extension NATSEventBus {
    /// Queues `messages` for the publishing thread and returns with a receipt for their PubAcks.
    ///
    /// Everything the publishing thread could refuse about one message is checked first: the
    /// topic's name and subjects, the headers and the size against the server's `max_payload`
    /// (`invalidArgument`, `topicMismatch`); then nothing of the call is queued. Waits while
    /// `publish.maxPending` pipelined messages are unacknowledged. A call with messages to a
    /// dead-letter topic is checked the same way, then published and awaited as
    /// ``publish(_:)-([OutgoingMessage])`` does, with a settled receipt.
    public func publishPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) -> PublishReceipt {
        guard !messages.isEmpty else { return .settled }
        let start = ContinuousClock.now
        let topics = publishMetrics == nil ? [] : PublishMetrics.countPerTopic(messages)
        var messages = messages
        var spans: [any Span]?
        do throws(EventBusError) {
            if try hasDeadLetters(messages) {
                // publish(_:) checks each message only as it sends it: check the whole call first.
                try checkCarriable(messages)
                try await publish(messages)
                return .settled
            }
            // The spans' context goes into the headers, so the size is checked with it.
            spans = configuration.pool.tracing?.startSends(&messages)
            try checkCarriable(messages)
        } catch {
            if let spans { MessageTracing.end(spans, error: error) }
            publishMetrics?.record(topics, since: start, failure: error)
            throw error
        }
        return try await enqueuePipelined(messages, topics: topics, since: start, spans: spans)
    }

    /// Publishes domain events to `topic` as ``publish(_:to:)`` does, pipelined as
    /// ``publishPipelined(_:)-([OutgoingMessage])`` is; each envelope is validated and encoded,
    /// and every message checked, before anything is queued.
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
            try EventBusNames.validateTopic(topic, deadLetterSuffix: configuration.deadLetter.subjectSuffix)
            if EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: configuration.deadLetter.subjectSuffix) != nil
            {
                // publish(_:to:) checks each message only as it sends it: check the whole call first.
                try checkCarriable(try MessageTracing.messages(envelopes, traceHeaders: nil, topic: topic))
                try await publish(envelopes, to: topic)
                return .settled
            }
            _ = try checkedSubject(topic)
            var traceHeaders: [[MessageHeader]]?
            if let tracing = configuration.pool.tracing {
                let started = tracing.startSends(&envelopes, topic: topic)
                spans = started.0
                traceHeaders = started.1
            }
            messages = try MessageTracing.messages(envelopes, traceHeaders: traceHeaders, topic: topic)
            try checkCarriable(messages)
        } catch {
            if let spans { MessageTracing.end(spans, error: error) }
            publishMetrics?.record(topics, since: start, failure: error)
            throw error
        }
        return try await enqueuePipelined(messages, topics: topics, since: start, spans: spans)
    }

    /// Whether any message goes to a dead-letter topic; checks every topic's name and subjects.
    private func hasDeadLetters(_ messages: [OutgoingMessage]) throws(EventBusError) -> Bool {
        let suffix = configuration.deadLetter.subjectSuffix
        var lastTopic: String?
        for message in messages where message.topic != lastTopic {
            lastTopic = message.topic
            try EventBusNames.validateTopic(message.topic, deadLetterSuffix: suffix)
            if EventBusNames.deadLetterBase(of: message.topic, deadLetterSuffix: suffix) != nil { return true }
            _ = try checkedSubject(message.topic)
        }
        return false
    }

    /// Runs the publishing thread's per-message checks here, so that a refusal throws before
    /// anything of the call is queued instead of failing one message among queued ones.
    private func checkCarriable(_ messages: [OutgoingMessage]) throws(EventBusError) {
        let limit = connection.maxPayload
        var scratch: [UInt8] = []
        for message in messages {
            try NativeHeaders.checkCarriable(message, limit: limit, scratch: &scratch)
        }
    }

    /// Takes window room for `messages`, queues them, and returns their receipt; metrics and spans
    /// are recorded when the last PubAck (or failure) settles it.
    private func enqueuePipelined(
        _ messages: [OutgoingMessage], topics: [(topic: String, count: Int)], since start: ContinuousClock.Instant,
        spans: [any Span]?
    ) async throws(EventBusError) -> PublishReceipt {
        let count = messages.count
        let metrics = publishMetrics
        do {
            try await pipelineWindow.acquire(count)
        } catch {
            if let spans { MessageTracing.end(spans, error: error) }
            metrics?.record(topics, since: start, failure: error)
            throw error
        }
        let window = pipelineWindow
        let completion = PublishCompletion(count: count) { error in
            window.release(count)
            metrics?.record(topics, since: start, failure: error)
            if let spans { MessageTracing.end(spans, error: error) }
        }
        publisher.enqueue(messages, completion: completion)
        return PublishReceipt(completion)
    }
}
