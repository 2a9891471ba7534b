import EventBus
import EventBusKafka
import InMemoryTracing
import Synchronization
import Tracing
import XCTest

final class KafkaTracingTests: XCTestCase {
    struct Refused: Error {}

    private func makeBus(_ tracer: InMemoryTracer) throws -> KafkaEventBus {
        try KafkaEventBus(
            configuration: KafkaTestBroker.configuration(pool: ActorPoolConfiguration(restartBackoff: .milliseconds(1)))
            {
                $0.tracer = tracer
            })
    }

    private func finished(_ tracer: InMemoryTracer, _ name: String, count: Int = 1) async -> [FinishedInMemorySpan] {
        let arrived = await Collector.waitUntil(timeout: .seconds(30)) {
            tracer.finishedSpans.filter { $0.operationName == name }.count >= count
        }
        XCTAssertTrue(arrived, "\(count) finished span(s) '\(name)'")
        return tracer.finishedSpans.filter { $0.operationName == name }
    }

    func testPipelinedSendSpanEndsWithItsDeliveryReportAndIsParentOfTheProcessSpan() async throws {
        try KafkaTestBroker.requireReachable()
        let tracer = InMemoryTracer()
        let bus = try makeBus(tracer)
        let topic = KafkaTestBroker.uniqueTopic("traced-pipelined")
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { _ in }
        let receipt = try await tracer.withSpan("request") { _ in
            try await bus.publishPipelined(
                [Envelope(aggregateID: "order-1", eventType: "Placed", eventVersion: 1, payload: Array("{}".utf8))],
                to: topic)
        }
        try await receipt.acknowledged()
        let requests = await finished(tracer, "request")
        let sends = await finished(tracer, "send \(topic)")
        let processes = await finished(tracer, "process \(topic)")
        let request = try XCTUnwrap(requests.first)
        let send = try XCTUnwrap(sends.first)
        let process = try XCTUnwrap(processes.first)
        XCTAssertEqual(send.kind, .producer)
        XCTAssertEqual(send.parentSpanID, request.spanID)
        XCTAssertEqual(process.parentSpanID, send.spanID)
        XCTAssertNil(send.status?.code, "a send span delivered without error carries no error status")
        await subscription.close()
        await bus.shutdown()
    }

    func testPipelinedCallAboveMessageMaxBytesIsRefusedWholeWithAnErrorSpan() async throws {
        try KafkaTestBroker.requireReachable()
        let tracer = InMemoryTracer()
        let bus = try makeBus(tracer)
        let topic = KafkaTestBroker.uniqueTopic("traced-refused")
        let fitting = OutgoingMessage(topic: topic, key: "k", payload: Array("{}".utf8))
        let oversized = OutgoingMessage(
            topic: topic, key: "k", payload: Array(repeating: UInt8(ascii: "x"), count: bus.maxMessageBytes))
        do {
            _ = try await bus.publishPipelined([fitting, oversized])
            XCTFail("an oversized pipelined record was enqueued")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
        let sends = await finished(tracer, "send \(topic)", count: 2)
        XCTAssertEqual(sends.map { $0.status?.code }, [.error, .error])
        await bus.shutdown()
    }

    func testHandlerSpanIsChildOfProducerSpanAndContextIsInKafkaHeadersWhenPublishedInsideASpan() async throws {
        try KafkaTestBroker.requireReachable()
        let tracer = InMemoryTracer()
        let bus = try makeBus(tracer)
        let topic = KafkaTestBroker.uniqueTopic("traced")
        let received = Collector()
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            tracer.withSpan("handler work") { _ in received.add(message) }
        }
        try await tracer.withSpan("request") { _ in
            try await bus.publish(
                Envelope(aggregateID: "order-1", eventType: "Placed", eventVersion: 1, payload: Array("{}".utf8)),
                to: topic)
        }
        let requestSpans = await finished(tracer, "request")
        let request = try XCTUnwrap(requestSpans.first)
        let sendSpans = await finished(tracer, "send \(topic)")
        let send = try XCTUnwrap(sendSpans.first)
        let processSpans = await finished(tracer, "process \(topic)")
        let process = try XCTUnwrap(processSpans.first)
        let workSpans = await finished(tracer, "handler work")
        let work = try XCTUnwrap(workSpans.first)
        XCTAssertEqual(send.kind, .producer)
        XCTAssertEqual(send.parentSpanID, request.spanID)
        XCTAssertEqual(process.kind, .consumer)
        XCTAssertEqual(process.parentSpanID, send.spanID)
        XCTAssertEqual(work.parentSpanID, process.spanID)
        XCTAssertEqual(Set([request.traceID, send.traceID, process.traceID, work.traceID]).count, 1)
        XCTAssertEqual(send.attributes.get("messaging.system"), .string("kafka"))
        XCTAssertEqual(send.attributes.get("messaging.kafka.message.key"), .string("order-1"))
        XCTAssertEqual(process.attributes.get("messaging.system"), .string("kafka"))
        XCTAssertEqual(process.attributes.get("messaging.consumer.group.name"), .string("g-\(topic)"))
        XCTAssertEqual(process.attributes.get("messaging.kafka.message.key"), .string("order-1"))
        XCTAssertEqual(process.attributes.get("messaging.kafka.offset"), .int64(0))
        XCTAssertNotNil(process.attributes.get("messaging.destination.partition.id"))
        XCTAssertEqual(process.attributes.get("messaging.message.id"), send.attributes.get("messaging.message.id"))
        // The raw Kafka record's headers carry the injected context.
        let headers = try XCTUnwrap(received.messages.first).headers
        XCTAssertEqual(headers[header: InMemoryTracer.traceIDKey], send.traceID)
        XCTAssertEqual(headers[header: InMemoryTracer.spanIDKey], send.spanID)
        await subscription.close()
        await bus.shutdown()
    }

    func testRetriesAreSpanEventsAndDeadLetterHasErrorStatusWhenHandlerFails() async throws {
        try KafkaTestBroker.requireReachable()
        let tracer = InMemoryTracer()
        let bus = try makeBus(tracer)
        let topic = KafkaTestBroker.uniqueTopic("traced-failing")
        let attempts = Mutex<[String: Int]>([:])
        let subscription = try await bus.subscribe(topic: topic, group: "g-\(topic)") { message in
            let attempt = attempts.withLock { counts -> Int in
                counts[message.key!, default: 0] += 1
                return counts[message.key!]!
            }
            if message.key == "poison" || attempt <= 2 { throw Refused() }
        }
        let letters = Collector()
        let deadLetters = try await bus.subscribe(topic: topic + ".dlq", group: "g-\(topic)-dlq") { letters.add($0) }
        try await bus.publish([
            OutgoingMessage(topic: topic, key: "twice", payload: [1]),
            OutgoingMessage(topic: topic, key: "poison", payload: [2]),
        ])
        let spans = await finished(tracer, "process \(topic)", count: 2)
        let twice = try XCTUnwrap(spans.first { $0.attributes.get("messaging.kafka.message.key") == .string("twice") })
        XCTAssertEqual(twice.events.map(\.name), ["retry", "retry"])
        XCTAssertNotEqual(twice.status?.code, .error)
        let poison = try XCTUnwrap(
            spans.first { $0.attributes.get("messaging.kafka.message.key") == .string("poison") })
        XCTAssertEqual(poison.status?.code, .error)
        XCTAssertEqual(poison.events.filter { $0.name == "retry" }.count, 3)
        XCTAssertEqual(poison.errors.count, 1)
        let arrived = await Collector.waitUntil(timeout: .seconds(30)) { letters.count >= 1 }
        XCTAssertTrue(arrived)
        XCTAssertEqual(letters.messages.first?.headers[header: InMemoryTracer.traceIDKey], poison.traceID)
        await subscription.close()
        await deadLetters.close()
        await bus.shutdown()
    }
}
