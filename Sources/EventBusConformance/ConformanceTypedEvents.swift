import EventBus

/// Typed events the typed-event scenarios publish and handle.
enum ConformanceTypedEvents {
    /// Version 1 of an order event.
    struct OrderPlaced: DomainEvent, Equatable {
        static let eventType = "ConformanceOrderPlaced"
        static let schemaVersion: Int64 = 1
        var sequence: Int
        var note: String
    }

    /// A second event type on the same topic, so routing by event type is tested.
    struct OrderShipped: DomainEvent, Equatable {
        static let eventType = "ConformanceOrderShipped"
        static let schemaVersion: Int64 = 1
        var sequence: Int
        var carrier: String
    }

    /// Version 3 of a price event: v1 was `{"sequence":…,"price":12.5}` (euros as a number), v2
    /// `{"sequence":…,"priceCents":1250}`, v3 nests the amount with its currency.
    struct PriceChanged: DomainEvent, Equatable {
        static let eventType = "ConformancePriceChanged"
        static let schemaVersion: Int64 = 3
        struct Amount: Codable, Equatable, Sendable {
            var cents: Int64
            var currency: String
        }
        var sequence: Int
        var amount: Amount
    }

    /// v1 → v2: euros as a number become whole cents.
    static let priceV1toV2: DomainEventHandlers.Upcaster = { v1 in
        guard let euros = v1["price"]?.doubleValue else {
            throw EventBusError(.invalidArgument, "v1 PriceChanged without a numeric price: \(v1)")
        }
        var v2 = v1
        v2["price"] = nil
        v2["priceCents"] = .integer(Int64((euros * 100).rounded()))
        return v2
    }

    /// v2 → v3: the cents move into `amount` with the currency every v2 event implied (EUR).
    static let priceV2toV3: DomainEventHandlers.Upcaster = { v2 in
        guard let cents = v2["priceCents"]?.integerValue else {
            throw EventBusError(.invalidArgument, "v2 PriceChanged without integer priceCents: \(v2)")
        }
        var v3 = v2
        v3["priceCents"] = nil
        v3["amount"] = ["cents": .integer(cents), "currency": "EUR"]
        return v3
    }

    /// An envelope published raw, as an older or a foreign publisher would: `payload` as given.
    static func raw(_ aggregateID: String, type: String, version: Int64, payload: String) -> Envelope {
        Envelope(aggregateID: aggregateID, eventType: type, eventVersion: version, payload: Array(payload.utf8))
    }
}
