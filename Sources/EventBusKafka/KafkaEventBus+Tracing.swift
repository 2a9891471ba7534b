import EventBus

extension KafkaEventBus {
    /// Publishes domain events to `topic` as jxt-core JSON, keyed by aggregate ID.
    ///
    /// With a tracer (`KafkaConfiguration/tracer`), each envelope is sent inside its own producer
    /// span `send <topic>`, whose context the instrument writes into the message headers; an envelope
    /// without a `traceID` gets the trace ID of that span's W3C `traceparent`, when the instrument
    /// writes one, so services that read only the envelope (Go jxt-core) see the trace.
    public func publish(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) {
        guard let publishMetrics, !envelopes.isEmpty else { return try await publishMeasured(envelopes, to: topic) }
        try await publishMetrics.measure([(topic, envelopes.count)]) { () throws(EventBusError) in
            try await publishMeasured(envelopes, to: topic)
        }
    }

    private func publishMeasured(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) {
        guard let tracing = configuration.pool.tracing else {
            return try await publishUntraced(MessageTracing.messages(envelopes, traceHeaders: nil, topic: topic))
        }
        try await tracing.send(envelopes, topic: topic) { envelopes, traceHeaders throws(EventBusError) in
            try await publishUntraced(MessageTracing.messages(envelopes, traceHeaders: traceHeaders, topic: topic))
        }
    }
}
