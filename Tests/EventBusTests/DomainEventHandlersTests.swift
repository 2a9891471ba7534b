import EventBus
import MetricsTestKit
import XCTest

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The typed-event layer on the in-memory bus: what the conformance scenarios do not pin down
/// (registration mistakes, the upcaster chain's failure modes, retries of handler errors, metrics).
final class DomainEventHandlersTests: XCTestCase {
    struct Greeting: DomainEvent, Equatable {
        static let eventType = "Greeting"
        static let schemaVersion: Int64 = 3
        var text: String
    }

    struct Other: DomainEvent {
        static let eventType = "Other"
        static let schemaVersion: Int64 = 1
    }

    private static let appendV1: DomainEventHandlers.Upcaster = { value in
        var next = value
        next["text"] = .string((value["text"]?.stringValue ?? "") + "+v2")
        return next
    }
    private static let appendV2: DomainEventHandlers.Upcaster = { value in
        var next = value
        next["text"] = .string((value["text"]?.stringValue ?? "") + "+v3")
        return next
    }

    private func raw(_ version: Int64, _ payload: String, type: String = Greeting.eventType) -> Envelope {
        Envelope(aggregateID: "a", eventType: type, eventVersion: version, payload: Array(payload.utf8))
    }

    /// Runs `handlers` on a fresh in-memory bus (no restarts backoff), publishes `envelopes` and
    /// waits until `done` holds; returns the dead letters seen by then.
    private func run(
        _ handlers: DomainEventHandlers, _ envelopes: [Envelope], maxRestarts: Int = 3,
        until done: @escaping @Sendable (DomainEventSubscription, Int) -> Bool
    ) async throws -> (DomainEventSubscription, [ReceivedMessage]) {
        let bus = try InMemoryEventBus(
            configuration: InMemoryConfiguration(
                pool: ActorPoolConfiguration(maxRestarts: maxRestarts, restartBackoff: .zero)))
        let letters = Recorder<[ReceivedMessage]>([])
        _ = try await bus.subscribe(topic: "greetings.dlq", group: "dlq") { letter in
            letters.update { $0.append(letter) }
        }
        let subscription = try await bus.subscribe(topic: "greetings", group: "g", handlers: handlers)
        try await bus.publish(envelopes, to: "greetings")
        await waitUntil("the expected outcome") { done(subscription, letters.value.count) }
        await bus.shutdown()
        return (subscription, letters.value)
    }

    func testRefusesSubscriptionWhenEventTypeHasTwoHandlers() async throws {
        var handlers = DomainEventHandlers()
        handlers.handle(Greeting.self) { _ in }
        handlers.handle(Greeting.self) { _, _ in }
        XCTAssertThrowsError(try handlers.validate()) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidArgument)
            XCTAssertTrue("\(error)".contains("two handlers"), "\(error)")
        }
        let bus = try InMemoryEventBus()
        do {
            _ = try await bus.subscribe(topic: "greetings", group: "g", handlers: handlers)
            XCTFail("subscribe must refuse handlers that do not validate")
        } catch {
            XCTAssertEqual(error.code, .invalidArgument)
        }
        await bus.shutdown()
    }

    func testRefusesUpcasterWhenVersionIsOutsideTheTypesPastOrHasNoHandler() {
        for version: Int64 in [0, 3, 4] {
            var handlers = DomainEventHandlers()
            handlers.handle(Greeting.self) { _ in }
            handlers.upcast(Greeting.self, from: version, Self.appendV1)
            XCTAssertThrowsError(try handlers.validate(), "upcaster from \(version)")
        }
        var duplicate = DomainEventHandlers()
        duplicate.handle(Greeting.self) { _ in }
        duplicate.upcast(Greeting.self, from: 1, Self.appendV1)
        duplicate.upcast(Greeting.self, from: 1, Self.appendV1)
        XCTAssertThrowsError(try duplicate.validate())
        var orphan = DomainEventHandlers()
        orphan.upcast(Greeting.self, from: 1, Self.appendV1)
        XCTAssertThrowsError(try orphan.validate()) { error in
            XCTAssertTrue("\(error)".contains("no handler"), "\(error)")
        }
        var fine = DomainEventHandlers()
        fine.handle(Greeting.self) { _ in }
        fine.upcast(Greeting.self, from: 2, Self.appendV2)
        fine.upcast(Greeting.self, from: 1, Self.appendV1)
        XCTAssertNoThrow(try fine.validate())
        XCTAssertEqual(fine.registeredEventTypes, ["Greeting": 3])
    }

    func testBuildsJxtCoreEnvelopeWhenEventIsWrapped() throws {
        let envelope = try Envelope(event: Greeting(text: "hi \"you\""), aggregateID: "greeter-1", correlationID: "c-1")
        XCTAssertEqual(envelope.eventType, "Greeting")
        XCTAssertEqual(envelope.eventVersion, 3)
        XCTAssertEqual(envelope.aggregateID, "greeter-1")
        XCTAssertEqual(envelope.correlationID, "c-1")
        let decoded = try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope))
        XCTAssertEqual(
            try JSONDecoder().decode(Greeting.self, from: Data(decoded.payload)), Greeting(text: "hi \"you\""))
    }

    func testThrowsInvalidArgumentWhenEventDoesNotEncode() {
        struct Ratio: DomainEvent {
            static let eventType = "Ratio"
            static let schemaVersion: Int64 = 1
            var value: Double
        }
        XCTAssertThrowsError(try Envelope(event: Ratio(value: .nan), aggregateID: "a")) { error in
            XCTAssertEqual((error as? EventBusError)?.code, .invalidArgument)
        }
    }

    func testDeadLettersAtOnceWhenUpcasterChainHasAGap() async throws {
        var handlers = DomainEventHandlers()
        let seen = Recorder<[String]>([])
        handlers.handle(Greeting.self) { greeting in seen.update { $0.append(greeting.text) } }
        handlers.upcast(Greeting.self, from: 2, Self.appendV2)
        let (_, letters) = try await run(
            handlers, [raw(1, #"{"text":"v1"}"#), raw(2, #"{"text":"v2"}"#)],
            until: { _, letters in letters == 1 && seen.value.count == 1 })
        XCTAssertEqual(seen.value, ["v2+v3"])
        XCTAssertEqual(letters.first?.headers[header: "X-Attempts"], "1")
        let error = letters.first?.headers[header: "X-Error"] ?? ""
        XCTAssertTrue(error.contains("unsupportedSchemaVersion") && error.contains("no upcaster from v1 to v2"), error)
    }

    func testDeadLettersAtOnceWhenUpcasterThrows() async throws {
        var handlers = DomainEventHandlers()
        let seen = Recorder<[String]>([])
        handlers.handle(Greeting.self) { greeting in seen.update { $0.append(greeting.text) } }
        handlers.upcast(Greeting.self, from: 1, Self.appendV1)
        handlers.upcast(Greeting.self, from: 2) { _ in throw InjectedFailure(description: "cannot convert") }
        let (subscription, letters) = try await run(
            handlers, [raw(1, #"{"text":"v1"}"#), raw(3, #"{"text":"v3"}"#)],
            until: { _, letters in letters == 1 && seen.value.count == 1 })
        XCTAssertEqual(seen.value, ["v3"])
        XCTAssertEqual(letters.first?.headers[header: "X-Attempts"], "1")
        let error = letters.first?.headers[header: "X-Error"] ?? ""
        XCTAssertTrue(error.contains("eventDecodingFailed") && error.contains("cannot convert"), error)
        XCTAssertEqual(
            subscription.statistics, DomainEventSubscription.Statistics(handled: 1, upcast: 0),
            "the failed chain is no upcast; the v3 event needed none")
    }

    func testRetriesHandlerWhenItThrowsAnOrdinaryError() async throws {
        var handlers = DomainEventHandlers()
        let attempts = Recorder<Int>(0)
        handlers.handle(Greeting.self) { _ in
            if attempts.update({
                $0 += 1
                return $0
            }) <= 2 {
                throw InjectedFailure(description: "flaky")
            }
        }
        let (subscription, letters) = try await run(
            handlers, [try Envelope(event: Greeting(text: "x"), aggregateID: "a")],
            until: { subscription, _ in subscription.statistics.handled == 1 })
        XCTAssertEqual(attempts.value, 3, "two failures, then success: a handler error is retried as usual")
        XCTAssertTrue(letters.isEmpty)
        XCTAssertEqual(subscription.statistics.handled, 1)
    }

    func testCountsSkippedEventTypesWhenPolicyIsSkip() async throws {
        let metrics = TestMetrics()
        var handlers = DomainEventHandlers(unknownEventTypes: .skip, metricsFactory: metrics)
        let seen = Recorder<Int>(0)
        handlers.handle(Greeting.self) { _ in seen.update { $0 += 1 } }
        let (subscription, letters) = try await run(
            handlers,
            [raw(1, "{}", type: "Nobody"), raw(1, "{}", type: "NobodyEither"), raw(3, #"{"text":"x"}"#)],
            until: { _, _ in seen.value == 1 })
        XCTAssertTrue(letters.isEmpty)
        XCTAssertEqual(subscription.statistics.skippedUnknownTypes, 2)
        let counter = try metrics.expectCounter(
            "eventbus_typed_events_skipped_total", [("backend", "in_memory"), ("topic", "greetings"), ("group", "g")])
        XCTAssertEqual(counter.totalValue, 2)
    }

    func testKeepsIntegersExactWhenJSONValueRoundTrips() throws {
        let text = #"{"big":9007199254740993,"neg":-3,"frac":1.5,"list":[true,null,"s"],"nested":{"k":{}}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        XCTAssertEqual(value["big"], .integer(9_007_199_254_740_993))
        XCTAssertEqual(value["frac"], .number(1.5))
        XCTAssertEqual(value["list"], [true, nil, "s"])
        XCTAssertEqual(value["nested"]?["k"], .object([:]))
        let again = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        XCTAssertEqual(again, value)
        var object: JSONValue = ["a": 1]
        object["a"] = nil
        object["b"] = "x"
        XCTAssertEqual(object, ["b": "x"])
    }

    // The example of Docs/TypedEvents.md, with recorders for the services it calls.
    struct OrderPlaced: DomainEvent {
        static let eventType = "OrderPlaced"
        static let schemaVersion: Int64 = 3
        struct Amount: Codable, Sendable {
            var cents: Int64
            var currency: String
        }
        var orderID: String
        var amount: Amount
    }

    struct OrderShipped: DomainEvent {
        static let eventType = "OrderShipped"
        static let schemaVersion: Int64 = 1
        var orderID: String
        var carrier: String
    }

    func testRunsDocumentedExampleWhenCopiedAsIs() async throws {
        let charges = Recorder<[String]>([])
        let shipments = Recorder<[String]>([])
        let bus = try await InMemoryEventBus.connect()

        var handlers = DomainEventHandlers(unknownEventTypes: .skip)
        handlers.handle(OrderPlaced.self) { order, context in
            charges.update {
                $0.append(
                    "\(order.orderID) \(order.amount.cents) \(order.amount.currency) v\(context.publishedSchemaVersion)"
                )
            }
        }
        handlers.handle(OrderShipped.self) { shipped in
            shipments.update { $0.append("\(shipped.orderID) \(shipped.carrier)") }
        }
        handlers.upcast(OrderPlaced.self, from: 1) { v1 in
            var v2 = v1
            v2["price"] = nil
            v2["priceCents"] = .integer(Int64(((v1["price"]?.doubleValue ?? 0) * 100).rounded()))
            return v2
        }
        handlers.upcast(OrderPlaced.self, from: 2) { v2 in
            var v3 = v2
            v3["priceCents"] = nil
            v3["amount"] = ["cents": v2["priceCents"] ?? 0, "currency": "EUR"]
            return v3
        }
        let subscription = try await bus.subscribe(topic: "orders", group: "billing", handlers: handlers)

        try await bus.publish(
            OrderPlaced(orderID: "order-42", amount: .init(cents: 1250, currency: "EUR")),
            aggregateID: "order-42", to: "orders", correlationID: "request-7")
        try await bus.publish(
            [
                OrderPlaced(orderID: "order-43", amount: .init(cents: 990, currency: "CHF")),
                OrderShipped(orderID: "order-43", carrier: "post"),
            ],
            aggregateID: "order-43", to: "orders")
        try await bus.publish(
            Envelope(
                aggregateID: "order-41", eventType: "OrderPlaced", eventVersion: 1,
                payload: Array(#"{"orderID":"order-41","price":12.5}"#.utf8)),
            to: "orders")

        await waitUntil("4 events") { subscription.statistics.handled == 4 }
        XCTAssertEqual(
            Set(charges.value), ["order-42 1250 EUR v3", "order-43 990 CHF v3", "order-41 1250 EUR v1"])
        XCTAssertEqual(shipments.value, ["order-43 post"])
        XCTAssertEqual(subscription.statistics, DomainEventSubscription.Statistics(handled: 4, upcast: 1))
        await subscription.close()
        await bus.shutdown()
    }
}
