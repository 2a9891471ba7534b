import EventBus
import EventBusNATS
import InMemoryTracing
import Synchronization
import Tracing
import XCTest

final class NATSTracingTests: XCTestCase {
    struct Refused: Error {}

    private func makeBus(_ tracer: InMemoryTracer) async throws -> NATSEventBus {
        var configuration = NATSTestEnvironment.configuration(url: try NATSTestEnvironment.requireBroker())
        configuration.tracer = tracer
        return try await NATSEventBus.connect(configuration)
    }

    private func finished(
        _ tracer: InMemoryTracer, _ name: String, count: Int = 1
    ) async throws -> [FinishedInMemorySpan] {
        try await NATSTestEnvironment.waitUntil("\(count) finished span(s) '\(name)'", timeout: .seconds(30)) {
            tracer.finishedSpans.filter { $0.operationName == name }.count >= count
        }
        return tracer.finishedSpans.filter { $0.operationName == name }
    }

    func testHandlerSpanIsChildOfProducerSpanAndContextIsInNATSHeadersWhenPublishedInsideASpan() async throws {
        let tracer = InMemoryTracer()
        let bus = try await makeBus(tracer)
        let topic = NATSTestEnvironment.uniqueTopic("traced")
        let received = Recorder<ReceivedMessage>()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            tracer.withSpan("handler work") { _ in received.append(message) }
        }
        try await tracer.withSpan("request") { _ in
            try await bus.publish(
                Envelope(aggregateID: "order-1", eventType: "Placed", eventVersion: 1, payload: Array("{}".utf8)),
                to: topic)
        }
        let requestSpans = try await finished(tracer, "request")
        let request = try XCTUnwrap(requestSpans.first)
        let sendSpans = try await finished(tracer, "send \(topic)")
        let send = try XCTUnwrap(sendSpans.first)
        let processSpans = try await finished(tracer, "process \(topic)")
        let process = try XCTUnwrap(processSpans.first)
        let workSpans = try await finished(tracer, "handler work")
        let work = try XCTUnwrap(workSpans.first)
        XCTAssertEqual(send.kind, .producer)
        XCTAssertEqual(send.parentSpanID, request.spanID)
        XCTAssertEqual(process.kind, .consumer)
        XCTAssertEqual(process.parentSpanID, send.spanID)
        XCTAssertEqual(work.parentSpanID, process.spanID)
        XCTAssertEqual(Set([request.traceID, send.traceID, process.traceID, work.traceID]).count, 1)
        XCTAssertEqual(send.attributes.get("messaging.system"), .string("nats"))
        XCTAssertNil(send.attributes.get("messaging.kafka.message.key"))
        XCTAssertEqual(process.attributes.get("messaging.system"), .string("nats"))
        XCTAssertEqual(process.attributes.get("messaging.consumer.group.name"), .string("g-\(topic)"))
        XCTAssertNotNil(process.attributes.get("messaging.destination.partition.id"))
        XCTAssertEqual(process.attributes.get("messaging.message.id"), send.attributes.get("messaging.message.id"))
        // The raw NATS message's headers carry the injected context.
        let headers = try XCTUnwrap(received.all.first).headers
        XCTAssertEqual(headers[header: InMemoryTracer.traceIDKey], send.traceID)
        XCTAssertEqual(headers[header: InMemoryTracer.spanIDKey], send.spanID)
        await subscription.close()
        await bus.shutdown()
    }

    func testPipelinedSendSpanEndsWithItsPubAckAndIsParentOfTheProcessSpan() async throws {
        let tracer = InMemoryTracer()
        let bus = try await makeBus(tracer)
        let topic = NATSTestEnvironment.uniqueTopic("traced-pipelined")
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { _ in }
        let receipt = try await tracer.withSpan("request") { _ in
            try await bus.publishPipelined(
                [Envelope(aggregateID: "order-1", eventType: "Placed", eventVersion: 1, payload: Array("{}".utf8))],
                to: topic)
        }
        try await receipt.acknowledged()
        let requests = try await finished(tracer, "request")
        let sends = try await finished(tracer, "send \(topic)")
        let processes = try await finished(tracer, "process \(topic)")
        let request = try XCTUnwrap(requests.first)
        let send = try XCTUnwrap(sends.first)
        let process = try XCTUnwrap(processes.first)
        XCTAssertEqual(send.kind, .producer)
        XCTAssertEqual(send.parentSpanID, request.spanID)
        XCTAssertEqual(process.parentSpanID, send.spanID)
        XCTAssertEqual(send.status?.code, nil, "a send span acknowledged without error carries no error status")
        await subscription.close()
        await bus.shutdown()
    }

    func testPipelinedSendSpanEndsWithTheErrorWhenTheCallIsRefused() async throws {
        let tracer = InMemoryTracer()
        let bus = try await makeBus(tracer)
        let topic = NATSTestEnvironment.uniqueTopic("traced-refused")
        var oversized = OutgoingMessage(topic: topic, key: "k", payload: [])
        oversized.payload = Array(repeating: UInt8(ascii: "x"), count: bus.maxMessageBytes + 1)
        do {
            _ = try await bus.publishPipelined([oversized])
            XCTFail("an oversized pipelined message was queued")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
        let sends = try await finished(tracer, "send \(topic)")
        let send = try XCTUnwrap(sends.first)
        XCTAssertEqual(send.status?.code, .error)
        await bus.shutdown()
    }

    func testRetriesAreSpanEventsAndDeadLetterHasErrorStatusWhenHandlerFails() async throws {
        let tracer = InMemoryTracer()
        let bus = try await makeBus(tracer)
        let topic = NATSTestEnvironment.uniqueTopic("tracedfailing")
        let attempts = Mutex<[String: Int]>([:])
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            let attempt = attempts.withLock { counts -> Int in
                counts[message.key!, default: 0] += 1
                return counts[message.key!]!
            }
            if message.key == "poison" || attempt <= 2 { throw Refused() }
        }
        let letters = Recorder<ReceivedMessage>()
        let deadLetters = try await bus.subscribe(topic: topic + ".dlq", group: "g-\(topic)-dlq") { letters.append($0) }
        try await bus.publish([
            OutgoingMessage(topic: topic, key: "twice", payload: [1]),
            OutgoingMessage(topic: topic, key: "poison", payload: [2]),
        ])
        let spans = try await finished(tracer, "process \(topic)", count: 2)
        let twice = try XCTUnwrap(spans.first { $0.status?.code != .error })
        XCTAssertEqual(twice.events.map(\.name), ["retry", "retry"])
        XCTAssertNotEqual(twice.status?.code, .error)
        let poison = try XCTUnwrap(spans.first { $0.status?.code == .error })
        XCTAssertEqual(poison.status?.code, .error)
        XCTAssertEqual(poison.events.filter { $0.name == "retry" }.count, 3)
        XCTAssertEqual(poison.errors.count, 1)
        try await NATSTestEnvironment.waitUntil("the dead letter") { letters.all.count >= 1 }
        XCTAssertEqual(letters.all.first?.headers[header: InMemoryTracer.traceIDKey], poison.traceID)
        await subscription.close()
        await deadLetters.close()
        await bus.shutdown()
    }
}
