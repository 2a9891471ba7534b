import Tracing

/// The spans and context propagation of one bus: producer spans on publish, consumer spans around
/// handlers. Nil wherever no tracer is in use, so the untraced paths pay one optional check.
///
/// Names and attributes follow the OpenTelemetry semantic conventions for messaging spans, v1.27.0
/// (<https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/>); `Docs/Observability.md`
/// lists them.
package struct MessageTracing: Sendable {
    /// Starts the spans.
    let tracer: any Tracer
    /// Injects and extracts context: the tracer given in the configuration, or the bootstrapped
    /// instrument (which may multiplex a tracer with other propagators).
    let instrument: any Instrument
    /// `messaging.system`: `kafka`, `nats` or `in_memory`.
    let system: String
    /// `messaging.consumer.group.name`; set on a subscription's pool by
    /// ``ActorPoolConfiguration/labelled(topic:group:)``.
    var group: String?

    /// The tracing of a bus built with `tracer` (nil: the process's bootstrapped one), or nil when
    /// that is the no-op tracer and no instrument is bootstrapped: then nothing is traced and no
    /// header is written.
    package static func resolve(_ tracer: (any Tracer)?, system: String) -> MessageTracing? {
        let instrument: any Instrument = tracer ?? InstrumentationSystem.instrument
        let tracer = tracer ?? InstrumentationSystem.tracer
        if tracer is NoOpTracer && (instrument is NoOpInstrument || instrument is NoOpTracer) { return nil }
        return MessageTracing(tracer: tracer, instrument: instrument, system: system, group: nil)
    }

    // MARK: Producer

    /// Sends `messages` through `send` inside one producer span per message, each a child of the
    /// task's current context, with that span's context injected into the message's headers. The
    /// spans end when `send` returns (the backend accepted the messages), with the error if it threw.
    package func send(
        _ messages: [OutgoingMessage],
        through send: ([OutgoingMessage]) async throws(EventBusError) -> Void
    ) async throws(EventBusError) {
        var messages = messages
        let spans = startSends(&messages)
        try await Self.end(spans) { () throws(EventBusError) in try await send(messages) }
    }

    /// Starts one producer span per message, each a child of the task's current context, and
    /// injects its context into the message's headers; the caller ends them with
    /// ``end(_:error:)`` when the messages were accepted or failed (a pipelined publish: when its
    /// acknowledgements arrive).
    package func startSends(_ messages: inout [OutgoingMessage]) -> [any Span] {
        let parent = ServiceContext.current ?? .topLevel
        var spans: [any Span] = []
        spans.reserveCapacity(messages.count)
        for index in messages.indices {
            let message = messages[index]
            let span = startSendSpan(
                topic: message.topic, key: message.key,
                eventID: message.headers[header: OutgoingMessage.EnvelopeHeader.eventID],
                batchSize: messages.count, parent: parent)
            instrument.inject(span.context, into: &messages[index].headers, using: MessageHeaderInjector())
            spans.append(span)
        }
        return spans
    }

    /// Sends `envelopes` through `send` as ``send(_:through:)`` does, after filling each empty
    /// `traceID` from the `traceparent` the instrument injected for its span (when it writes one).
    /// `send` gets the envelopes and, per envelope, the headers the instrument wrote.
    package func send(
        _ envelopes: [Envelope],
        topic: String,
        through send: ([Envelope], [[MessageHeader]]) async throws(EventBusError) -> Void
    ) async throws(EventBusError) {
        var envelopes = envelopes
        let (spans, headers) = startSends(&envelopes, topic: topic)
        try await Self.end(spans) { () throws(EventBusError) in try await send(envelopes, headers) }
    }

    /// Starts the producer spans of ``send(_:topic:through:)`` and fills empty trace IDs; returns
    /// the spans, for ``end(_:error:)``, and per envelope the headers the instrument wrote.
    package func startSends(_ envelopes: inout [Envelope], topic: String) -> ([any Span], [[MessageHeader]]) {
        let parent = ServiceContext.current ?? .topLevel
        var spans: [any Span] = []
        spans.reserveCapacity(envelopes.count)
        var headers: [[MessageHeader]] = []
        headers.reserveCapacity(envelopes.count)
        for index in envelopes.indices {
            let envelope = envelopes[index]
            let span = startSendSpan(
                topic: topic, key: envelope.aggregateID, eventID: envelope.eventID,
                batchSize: envelopes.count, parent: parent)
            var injected: [MessageHeader] = []
            instrument.inject(span.context, into: &injected, using: MessageHeaderInjector())
            if envelope.traceID?.isEmpty ?? true, let value = injected[header: TraceParent.headerName],
                let traceID = TraceParent.traceID(value)
            {
                envelopes[index].traceID = traceID
            }
            headers.append(injected)
            spans.append(span)
        }
        return (spans, headers)
    }

    /// Encodes envelopes for a broker: the jxt-core JSON and headers, plus `traceHeaders[i]` when given.
    package static func messages(
        _ envelopes: [Envelope], traceHeaders: [[MessageHeader]]?, topic: String
    ) throws(EventBusError) -> [OutgoingMessage] {
        var messages: [OutgoingMessage] = []
        messages.reserveCapacity(envelopes.count)
        for index in envelopes.indices {
            var message = try OutgoingMessage(envelope: envelopes[index], topic: topic)
            if let traceHeaders { message.headers += traceHeaders[index] }
            messages.append(message)
        }
        return messages
    }

    private func startSendSpan(
        topic: String, key: String?, eventID: String?, batchSize: Int, parent: ServiceContext
    ) -> any Span {
        let span = tracer.startSpan("send \(topic)", context: parent, ofKind: .producer)
        span.updateAttributes { attributes in
            attributes.set(MessagingAttribute.system, value: .string(system))
            attributes.set(MessagingAttribute.destinationName, value: .string(topic))
            attributes.set(MessagingAttribute.operationType, value: .string("send"))
            attributes.set(MessagingAttribute.operationName, value: .string("send"))
            if let eventID { attributes.set(MessagingAttribute.messageID, value: .string(eventID)) }
            if batchSize > 1 { attributes.set(MessagingAttribute.batchMessageCount, value: .int64(Int64(batchSize))) }
            if system == MessagingSystem.kafka, let key {
                attributes.set(MessagingAttribute.kafkaMessageKey, value: .string(key))
            }
        }
        return span
    }

    private static func end(
        _ spans: [any Span], after operation: () async throws(EventBusError) -> Void
    ) async throws(EventBusError) {
        do {
            try await operation()
        } catch {
            end(spans, error: error)
            throw error
        }
        end(spans, error: nil)
    }

    /// Ends producer spans, marking each failed with `error` when given.
    package static func end(_ spans: [any Span], error: EventBusError?) {
        guard let error else {
            for span in spans { span.end() }
            return
        }
        for span in spans {
            span.recordError(error)
            span.updateAttributes { $0.set(MessagingAttribute.errorType, value: .string(error.code.description)) }
            span.setStatus(SpanStatus(code: .error, message: error.message))
            span.end()
        }
    }

    // MARK: Consumer

    /// Starts the consumer span `process <topic>` for a received message: its parent is the context
    /// the instrument extracts from the message's headers (the producer span), and the incoming
    /// envelope trace ID, if any, is kept as ``ServiceContext/eventBusTraceID``.
    package func startProcessSpan(_ message: ReceivedMessage) -> any Span {
        var context = ServiceContext.topLevel
        // The headers a broker delivered (stored, or still with a backend that reads them on
        // demand), read once: a carried envelope's `X-Event-*` headers carry no trace context (its
        // IDs are read below).
        let headers = message.deliveredHeaders
        instrument.extract(headers, into: &context, using: MessageHeaderExtractor())
        if let traceID = Self.envelopeTraceID(of: message, headers: headers) { context.eventBusTraceID = traceID }
        let span = tracer.startSpan("process \(message.topic)", context: context, ofKind: .consumer)
        span.updateAttributes { attributes in
            attributes.set(MessagingAttribute.system, value: .string(system))
            attributes.set(MessagingAttribute.destinationName, value: .string(message.topic))
            attributes.set(MessagingAttribute.operationType, value: .string("process"))
            attributes.set(MessagingAttribute.operationName, value: .string("process"))
            attributes.set(MessagingAttribute.partitionID, value: .string(String(message.partition)))
            if let group { attributes.set(MessagingAttribute.consumerGroupName, value: .string(group)) }
            if let eventID = Self.eventID(of: message, headers: headers) {
                attributes.set(MessagingAttribute.messageID, value: .string(eventID))
            }
            if message.deliveryCount > 1 {
                attributes.set(MessagingAttribute.deliveryCount, value: .int64(Int64(message.deliveryCount)))
            }
            if system == MessagingSystem.kafka {
                if let key = message.key { attributes.set(MessagingAttribute.kafkaMessageKey, value: .string(key)) }
                attributes.set(MessagingAttribute.kafkaOffset, value: .int64(message.offset))
            }
        }
        return span
    }

    /// Records a failed attempt that is retried as the span event `retry`.
    package static func recordRetry(_ span: any Span, attempt: Int, error: any Error) {
        span.addEvent(
            SpanEvent(
                name: "retry",
                attributes: [
                    "eventbus.attempt": .int64(Int64(attempt)),
                    "exception.type": .string(String(reflecting: type(of: error))),
                    "exception.message": .string(String(describing: error)),
                ]))
    }

    /// Marks the span of a message that was dead-lettered: the error recorded, status error.
    package static func recordDeadLetter(_ span: any Span, attempts: Int, error: any Error) {
        span.recordError(error)
        span.updateAttributes { attributes in
            attributes.set("eventbus.attempts", value: .int64(Int64(attempts)))
            attributes.set("eventbus.dead_lettered", value: .bool(true))
            attributes.set(MessagingAttribute.errorType, value: .string(String(reflecting: type(of: error))))
        }
        span.setStatus(SpanStatus(code: .error, message: "dead-lettered after \(attempts) attempts: \(error)"))
    }

    private static func eventID(of message: ReceivedMessage, headers: [MessageHeader]) -> String? {
        headers[header: OutgoingMessage.EnvelopeHeader.eventID] ?? message.carriedEnvelope?.envelope
            .eventID
            ?? message.decodedEnvelope?.envelope.eventID
    }

    private static func envelopeTraceID(of message: ReceivedMessage, headers: [MessageHeader]) -> String? {
        let traceID =
            headers[header: OutgoingMessage.EnvelopeHeader.traceID]
            ?? message.carriedEnvelope?.envelope.traceID ?? message.decodedEnvelope?.envelope.traceID
        guard let traceID, !traceID.isEmpty else { return nil }
        return traceID
    }
}

/// `messaging.system` values: OpenTelemetry's well-known `kafka`; `nats` and `in_memory` are ours
/// (the conventions list no value for them).
package enum MessagingSystem {
    package static let kafka = "kafka"
    package static let nats = "nats"
    package static let inMemory = "in_memory"
}

/// A bus of this package that names its ``MessagingSystem`` value, so code written against
/// ``EventBus`` (typed subscriptions) can give its metrics the same `backend` dimension as the bus's own.
package protocol MessagingSystemNaming {
    /// The `messaging.system` value: `kafka`, `nats` or `in_memory`.
    var messagingSystem: String { get }
}

/// Attribute names of the OpenTelemetry messaging semantic conventions v1.27.0.
package enum MessagingAttribute {
    static let system = "messaging.system"
    static let destinationName = "messaging.destination.name"
    static let operationType = "messaging.operation.type"
    static let operationName = "messaging.operation.name"
    static let messageID = "messaging.message.id"
    static let batchMessageCount = "messaging.batch.message_count"
    static let consumerGroupName = "messaging.consumer.group.name"
    static let partitionID = "messaging.destination.partition.id"
    static let deliveryCount = "eventbus.delivery_count"
    static let kafkaMessageKey = "messaging.kafka.message.key"
    static let kafkaOffset = "messaging.kafka.offset"
    static let errorType = "error.type"
}
