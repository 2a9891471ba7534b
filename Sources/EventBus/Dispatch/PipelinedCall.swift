import Tracing

/// The bookkeeping every backend's `publishPipelined` shares: the call's start, its message counts
/// per topic for the publish metrics and its producer spans, recorded once, either when the call
/// fails before anything of it is queued (``fail(_:)``) or when its last acknowledgement settles
/// it (``completion(count:then:)``).
package struct PipelinedCall: Sendable {
    private let start: ContinuousClock.Instant
    private let topics: [(topic: String, count: Int)]
    private let metrics: PublishMetrics?
    private let spans: [any Span]?

    /// Starts a call of raw messages: their producer spans begin, and their contexts go into the
    /// messages' headers (so size checks must come after).
    package init(_ messages: inout [OutgoingMessage], tracing: MessageTracing?, metrics: PublishMetrics?) {
        start = .now
        topics = metrics == nil ? [] : PublishMetrics.countPerTopic(messages)
        self.metrics = metrics
        spans = tracing?.startSends(&messages)
    }

    private init(
        start: ContinuousClock.Instant, topics: [(topic: String, count: Int)], metrics: PublishMetrics?,
        spans: [any Span]?
    ) {
        self.start = start
        self.topics = topics
        self.metrics = metrics
        self.spans = spans
    }

    /// Starts a call of envelopes to `topic`: their producer spans begin (an envelope without a
    /// trace ID takes its span's), then each is validated and encoded as jxt-core JSON with its
    /// headers. Throws the encoder's error, recorded as the call's failure.
    package static func encoding(
        _ envelopes: [Envelope], to topic: String, tracing: MessageTracing?, metrics: PublishMetrics?
    ) throws(EventBusError) -> (PipelinedCall, [OutgoingMessage]) {
        let start = ContinuousClock.now
        var envelopes = envelopes
        var spans: [any Span]?
        var traceHeaders: [[MessageHeader]]?
        if let tracing {
            let started = tracing.startSends(&envelopes, topic: topic)
            spans = started.0
            traceHeaders = started.1
        }
        let call = PipelinedCall(
            start: start, topics: [(topic, envelopes.count)], metrics: metrics, spans: spans)
        do throws(EventBusError) {
            return (call, try MessageTracing.messages(envelopes, traceHeaders: traceHeaders, topic: topic))
        } catch {
            call.fail(error)
            throw error
        }
    }

    /// Records a call that queued nothing: its spans end with `error`, its messages count as failed.
    package func fail(_ error: EventBusError) {
        if let spans { MessageTracing.end(spans, error: error) }
        metrics?.record(topics, since: start, failure: error)
    }

    /// The completion of the call's `count` messages; when the last is settled it runs `then`
    /// (a backend giving back its window room), then records the call with the first failure.
    package func completion(count: Int, then: (@Sendable () -> Void)? = nil) -> PublishCompletion {
        let call = self
        return PublishCompletion(count: count) { error in
            then?()
            call.metrics?.record(call.topics, since: call.start, failure: error)
            if let spans = call.spans { MessageTracing.end(spans, error: error) }
        }
    }
}
