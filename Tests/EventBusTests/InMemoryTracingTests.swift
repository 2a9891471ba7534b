import EventBus
import InMemoryTracing
import Tracing
import XCTest

/// InMemoryTracer with hex IDs that also writes a W3C `traceparent`, like swift-otel's propagator.
private struct W3CTestTracer: Tracer {
    let inner = InMemoryTracer(
        idGenerator: InMemoryTracer.IDGenerator(
            nextTraceID: { String(repeating: "0", count: 24) + hex(UInt32.random(in: 1...UInt32.max)) },
            nextSpanID: { String(repeating: "0", count: 8) + hex(UInt32.random(in: 1...UInt32.max)) }))

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        inner.startSpan(
            operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line
        )
    }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        inner.inject(context, into: &carrier, using: injector)
        if let span = context.inMemorySpanContext {
            injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
        }
    }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        inner.extract(carrier, into: &context, using: extractor)
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

final class InMemoryTracingTests: XCTestCase {
    private func makeBus(_ tracer: any Tracer, maxRestarts: Int = 3) throws -> InMemoryEventBus {
        var configuration = InMemoryConfiguration(
            pool: ActorPoolConfiguration(maxRestarts: maxRestarts, restartBackoff: .milliseconds(1)))
        configuration.tracer = tracer
        return try InMemoryEventBus(configuration: configuration)
    }

    private func finished(_ tracer: InMemoryTracer, _ name: String, count: Int = 1) async -> [FinishedInMemorySpan] {
        await waitUntil("\(count) finished span(s) '\(name)'") {
            tracer.finishedSpans.filter { $0.operationName == name }.count >= count
        }
        return tracer.finishedSpans.filter { $0.operationName == name }
    }

    func testHandlerSpanIsChildOfProducerSpanInPublishersTraceWhenPublishedInsideASpan() async throws {
        let tracer = InMemoryTracer()
        let bus = try makeBus(tracer)
        let received = Recorder<[ReceivedMessage]>([])
        let subscription = try await bus.subscribe(topic: "traced", group: "billing") { message in
            tracer.withSpan("handler work") { _ in received.update { $0.append(message) } }
        }
        try await tracer.withSpan("request") { _ in
            try await bus.publish(
                OutgoingMessage(
                    topic: "traced", key: "order-1",
                    headers: [MessageHeader(name: OutgoingMessage.EnvelopeHeader.eventID, value: "event-1")],
                    payload: [1]))
        }
        let requestSpans = await finished(tracer, "request")
        let request = try XCTUnwrap(requestSpans.first)
        let sendSpans = await finished(tracer, "send traced")
        let send = try XCTUnwrap(sendSpans.first)
        let processSpans = await finished(tracer, "process traced")
        let process = try XCTUnwrap(processSpans.first)
        let workSpans = await finished(tracer, "handler work")
        let work = try XCTUnwrap(workSpans.first)

        XCTAssertEqual(send.kind, .producer)
        XCTAssertEqual(send.parentSpanID, request.spanID)
        XCTAssertEqual(process.kind, .consumer)
        XCTAssertEqual(process.parentSpanID, send.spanID, "the consumer span's parent is the producer span")
        XCTAssertEqual(work.parentSpanID, process.spanID, "the handler's spans nest under the consumer span")
        XCTAssertEqual(Set([request.traceID, send.traceID, process.traceID, work.traceID]).count, 1)

        XCTAssertEqual(send.attributes.get("messaging.system"), .string("in_memory"))
        XCTAssertEqual(send.attributes.get("messaging.destination.name"), .string("traced"))
        XCTAssertEqual(send.attributes.get("messaging.operation.type"), .string("send"))
        XCTAssertEqual(send.attributes.get("messaging.operation.name"), .string("send"))
        XCTAssertEqual(send.attributes.get("messaging.message.id"), .string("event-1"))
        XCTAssertEqual(process.attributes.get("messaging.operation.type"), .string("process"))
        XCTAssertEqual(process.attributes.get("messaging.consumer.group.name"), .string("billing"))
        XCTAssertEqual(process.attributes.get("messaging.message.id"), .string("event-1"))
        XCTAssertNotNil(process.attributes.get("messaging.destination.partition.id"))

        // On the wire: the headers the instrument injected, as a raw subscriber reads them.
        let headers = try XCTUnwrap(received.value.first).headers
        XCTAssertEqual(headers[header: InMemoryTracer.traceIDKey], send.traceID)
        XCTAssertEqual(headers[header: InMemoryTracer.spanIDKey], send.spanID)
        await subscription.close()
        await bus.shutdown()
    }

    func testRetriesAreSpanEventsAndDeadLetterHasErrorStatusAndKeepsContextWhenHandlerFails() async throws {
        let tracer = InMemoryTracer()
        let bus = try makeBus(tracer)
        let failures = Recorder<[String: Int]>([:])
        let subscription = try await bus.subscribe(topic: "failing", group: "g") { message in
            let failed = failures.update { counts -> Int in
                counts[message.key!, default: 0] += 1
                return counts[message.key!]!
            }
            // "twice" fails twice, then succeeds; "poison" always fails.
            if message.key == "poison" || failed <= 2 { throw InjectedFailure(description: "refused #\(failed)") }
        }
        let letters = Recorder<[ReceivedMessage]>([])
        let deadLetters = try await bus.subscribe(topic: "failing.dlq", group: "g") { letter in
            letters.update { $0.append(letter) }
        }
        try await bus.publish([
            OutgoingMessage(topic: "failing", key: "twice", payload: [1]),
            OutgoingMessage(topic: "failing", key: "poison", payload: [2]),
        ])
        let spans = await finished(tracer, "process failing", count: 2)
        let sends = await finished(tracer, "send failing", count: 2)
        let twice = try XCTUnwrap(
            spans.first { $0.attributes.get("messaging.kafka.message.key") == nil && $0.events.count == 2 })
        XCTAssertEqual(twice.events.map(\.name), ["retry", "retry"])
        XCTAssertEqual(twice.events.map { $0.attributes.get("eventbus.attempt") }, [.int64(1), .int64(2)])
        XCTAssertNotEqual(twice.status?.code, .error)

        let poison = try XCTUnwrap(spans.first { $0.status?.code == .error })
        XCTAssertEqual(poison.events.filter { $0.name == "retry" }.count, 3)
        XCTAssertEqual(poison.errors.count, 1)
        XCTAssertEqual(poison.attributes.get("eventbus.dead_lettered"), .bool(true))

        await waitUntil("the dead letter arrived") { letters.value.count == 1 }
        let letter = try XCTUnwrap(letters.value.first)
        XCTAssertEqual(letter.key, "poison")
        let poisonSend = try XCTUnwrap(sends.first { $0.spanID == poison.parentSpanID })
        XCTAssertEqual(letter.headers[header: InMemoryTracer.traceIDKey], poisonSend.traceID)
        XCTAssertEqual(letter.headers[header: InMemoryTracer.spanIDKey], poisonSend.spanID)
        await subscription.close()
        await deadLetters.close()
        await bus.shutdown()
    }

    func testEnvelopeTraceIDIsFilledFromTraceparentAndIncomingTraceIDIsKeptInContext() async throws {
        let tracer = W3CTestTracer()
        let bus = try makeBus(tracer)
        let seen = Recorder<[(Envelope, String?)]>([])
        let subscription = try await bus.subscribe(topic: "events", group: "g") { (envelope: Envelope) in
            seen.update { $0.append((envelope, ServiceContext.current?.eventBusTraceID)) }
        }
        try await tracer.withSpan("request") { _ in
            try await bus.publish(
                [
                    Envelope(aggregateID: "a", eventType: "Filled", eventVersion: 1, payload: Array("{}".utf8)),
                    Envelope(
                        aggregateID: "b", eventType: "FromGo", eventVersion: 1, traceID: "go-trace-7",
                        payload: Array("{}".utf8)),
                ], to: "events")
        }
        let requestSpans = await finished(tracer.inner, "request")
        let request = try XCTUnwrap(requestSpans.first)
        await waitUntil("both envelopes handled") { seen.value.count == 2 }
        let filled = try XCTUnwrap(seen.value.first { $0.0.eventType == "Filled" })
        XCTAssertEqual(filled.0.traceID, request.traceID, "trace_id comes from the injected traceparent")
        XCTAssertEqual(filled.1, request.traceID)
        let fromGo = try XCTUnwrap(seen.value.first { $0.0.eventType == "FromGo" })
        XCTAssertEqual(fromGo.0.traceID, "go-trace-7", "a trace_id already set is kept")
        XCTAssertEqual(fromGo.1, "go-trace-7")
        await subscription.close()
        await bus.shutdown()
    }

    func testNoTraceHeadersAreWrittenWhenNoTracerIsBootstrapped() async throws {
        let bus = try InMemoryEventBus()
        let received = Recorder<[ReceivedMessage]>([])
        let subscription = try await bus.subscribe(topic: "plain", group: "g") { message in
            received.update { $0.append(message) }
        }
        try await bus.publish(
            OutgoingMessage(topic: "plain", key: "k", headers: [MessageHeader(name: "a", value: "b")], payload: [1]))
        await waitUntil("handled") { received.value.count == 1 }
        XCTAssertEqual(received.value.first?.headers, [MessageHeader(name: "a", value: "b")])
        await subscription.close()
        await bus.shutdown()
    }
}
