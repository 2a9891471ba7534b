import EventBus
import Synchronization
import XCTest

/// Encoding and decoding cost per event of typed events against the raw envelope path, in-process
/// (no broker, no dispatch), checked against `Thresholds/typed-events.json`.
///
/// Four paths over the same event (an order with three line items, about 250 bytes of JSON):
/// - `raw`: what the envelope API costs today: ``EnvelopeCodec/encode(_:)`` of an envelope whose
///   payload bytes are given, then ``EnvelopeCodec/decode(_:)-([UInt8])``;
/// - `raw+JSON by hand`: what services did before typed events: the event encoded with
///   `JSONEncoder` into an envelope built by hand, encode, decode, and `JSONDecoder` on the payload;
/// - `typed`: ``Envelope/init(event:aggregateID:eventID:timestamp:traceID:correlationID:tenantID:encoder:)``
///   (`JSONEncoder`), encode, decode, and the typed subscription's envelope handler (route by event
///   type, `JSONDecoder` into the type, call the handler);
/// - `typed+upcast`: a v1 payload through two upcasters (JSON tree decode, two steps, re-encode)
///   before that.
final class PerformanceRegressionTypedEventTests: XCTestCase {
    struct Line: Codable, Sendable {
        var sku: String
        var quantity: Int
        var unitCents: Int64
    }

    struct OrderPlaced: DomainEvent {
        static let eventType = "OrderPlaced"
        static let schemaVersion: Int64 = 3
        var orderID: String
        var customerID: String
        var currency: String
        var totalCents: Int64
        var lines: [Line]
        var note: String?
    }

    private static let order = OrderPlaced(
        orderID: "order-0190d4a8-7c1e-7e11-9a77-2b6f1c0e9f42", customerID: "customer-77812", currency: "EUR",
        totalCents: 12_990,
        lines: [
            Line(sku: "SKU-100-RED", quantity: 2, unitCents: 2_500),
            Line(sku: "SKU-204-BLUE", quantity: 1, unitCents: 4_990),
            Line(sku: "SKU-311", quantity: 1, unitCents: 3_000),
        ],
        note: "leave at the door")

    /// Runs `body` `iterations` times after a warm-up of a tenth as many; the best of 3 rounds, in
    /// nanoseconds per iteration (the best round is the one least disturbed by other processes).
    private func nanosecondsPerEvent(iterations: Int, _ body: () async throws -> Void) async rethrows -> Double {
        for _ in 0..<(iterations / 10) { try await body() }
        var best = Double.infinity
        for _ in 0..<3 {
            let start = ContinuousClock.now
            for _ in 0..<iterations { try await body() }
            let elapsed = ContinuousClock.now - start
            let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            best = min(best, nanoseconds / Double(iterations))
        }
        return best
    }

    func testTypedEncodeDecodeCostStaysWithinThresholdsWhenComparedWithRawEnvelopes() async throws {
        let thresholds = try TypedEventThresholds.load()
        let iterations = 20_000
        let order = Self.order
        let payload = Array(try JSONEncoder().encode(order))
        let rawEnvelope = Envelope(
            aggregateID: order.orderID, eventType: OrderPlaced.eventType, eventVersion: 3, payload: payload)
        let sink = Sink()
        var handlers = DomainEventHandlers()
        handlers.handle(OrderPlaced.self) { event, _ in sink.take(event.totalCents) }
        handlers.upcast(OrderPlaced.self, from: 1) { v1 in
            var v2 = v1
            v2["totalCents"] = v1["total"].flatMap(\.doubleValue).map { .integer(Int64(($0 * 100).rounded())) }
            v2["total"] = nil
            return v2
        }
        handlers.upcast(OrderPlaced.self, from: 2) { v2 in
            var v3 = v2
            v3["currency"] = "EUR"
            return v3
        }
        let handler = handlers.envelopeHandler(
            counters: DomainEventSubscription.Counters(), topic: "benchmark", group: "benchmark")
        let v1Payload = Array(
            try JSONEncoder().encode(
                V1(orderID: order.orderID, customerID: order.customerID, total: 129.9, lines: order.lines)))
        let v1Envelope = Envelope(
            aggregateID: order.orderID, eventType: OrderPlaced.eventType, eventVersion: 1, payload: v1Payload)
        let decoder = JSONDecoder()

        let raw = try await nanosecondsPerEvent(iterations: iterations) {
            let bytes = try EnvelopeCodec.encode(rawEnvelope)
            sink.take(try EnvelopeCodec.decode(bytes).payload.count)
        }
        let encoder = JSONEncoder()
        let byHand = try await nanosecondsPerEvent(iterations: iterations) {
            let payload = Array(try encoder.encode(order))
            let bytes = try EnvelopeCodec.encode(
                Envelope(
                    aggregateID: order.orderID, eventType: OrderPlaced.eventType, eventVersion: 3, payload: payload))
            let envelope = try EnvelopeCodec.decode(bytes)
            sink.take(try decoder.decode(OrderPlaced.self, from: Data(envelope.payload)).totalCents)
        }
        let typed = try await nanosecondsPerEvent(iterations: iterations) {
            let bytes = try EnvelopeCodec.encode(try Envelope(event: order, aggregateID: order.orderID))
            try await handler(try EnvelopeCodec.decode(bytes))
        }
        let upcast = try await nanosecondsPerEvent(iterations: iterations / 4) {
            let bytes = try EnvelopeCodec.encode(v1Envelope)
            try await handler(try EnvelopeCodec.decode(bytes))
        }
        let rows: [(String, Double, Double)] = [
            ("raw", raw, thresholds.maxNanosecondsPerEvent.raw),
            ("raw+JSON by hand", byHand, thresholds.maxNanosecondsPerEvent.rawWithJSONByHand),
            ("typed", typed, thresholds.maxNanosecondsPerEvent.typed),
            ("typed+upcast", upcast, thresholds.maxNanosecondsPerEvent.typedWithUpcast),
        ]
        print("typed events, encode+decode per event (\(payload.count)-byte payload, \(Self.configuration) build):")
        for (name, value, limit) in rows {
            print(
                "  \(name.padding(toLength: 17, withPad: " ", startingAt: 0)) \(Int(value.rounded())) ns/event"
                    + " (\(String(format: "%.1f", value / raw))x raw; limit \(Int(limit)))")
        }
        print(
            "  typed / by hand  \(String(format: "%.2f", typed / byHand)) (limit \(thresholds.maxTypedOverHandRatio))")
        XCTAssertGreaterThan(sink.total, 0)
        // Thresholds come from release builds; a debug build only prints its figures.
        guard Self.configuration == "release" else { return }
        XCTAssertLessThanOrEqual(
            typed / byHand, thresholds.maxTypedOverHandRatio, "the typed layer costs more than JSON by hand")
        for (name, value, limit) in rows {
            XCTAssertLessThanOrEqual(value, limit, "\(name): \(Int(value)) ns/event over the threshold \(Int(limit))")
        }
    }

    struct V1: Codable {
        var orderID: String
        var customerID: String
        var total: Double
        var lines: [Line]
    }

    #if DEBUG
        static let configuration = "debug"
    #else
        static let configuration = "release"
    #endif
}

/// Keeps results alive so the optimizer cannot drop the work measured.
private final class Sink: Sendable {
    private let storage = Atomic<Int64>(0)
    func take(_ value: some BinaryInteger) { storage.wrappingAdd(Int64(value), ordering: .relaxed) }
    var total: Int64 { storage.load(ordering: .relaxed) }
}

/// `Thresholds/typed-events.json`.
private struct TypedEventThresholds: Decodable {
    struct Limits: Decodable {
        let raw: Double
        let rawWithJSONByHand: Double
        let typed: Double
        let typedWithUpcast: Double
    }

    let note: String
    let maxNanosecondsPerEvent: Limits
    /// Typed cost over the hand-written path's, both measured in the same run.
    let maxTypedOverHandRatio: Double

    static func load() throws -> TypedEventThresholds {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("Thresholds")
            .appendingPathComponent("typed-events.json")
        return try JSONDecoder().decode(TypedEventThresholds.self, from: Data(contentsOf: url))
    }
}
