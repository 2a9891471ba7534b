import EventBus

extension ConformanceSuite {
    private typealias Placed = ConformanceTypedEvents.OrderPlaced
    private typealias Shipped = ConformanceTypedEvents.OrderShipped
    private typealias Price = ConformanceTypedEvents.PriceChanged

    /// 20 aggregates × 10 typed events of two event types, each aggregate's published in one call:
    /// every event reaches the handler of its type once, decoded equal, in publish order per
    /// aggregate, with its envelope (event ID, aggregate, schema version) in the context. A raw
    /// subscriber in another group sees jxt-core envelopes: `event_type` and `event_version` from
    /// the Swift type, the payload the event's JSON.
    static func roundTripsTypedEvents(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let aggregates = 20
        let perAggregate = 10
        let seen = Recorder<(aggregate: String, sequence: Int, matches: Bool, eventID: String)>()
        var handlers = DomainEventHandlers(unknownEventTypes: .deadLetter)
        handlers.handle(Placed.self) { event, info in
            seen.record(
                (
                    info.aggregateID, event.sequence,
                    event.note == "placed-\(event.sequence)" && info.envelope.eventType == Placed.eventType
                        && info.publishedSchemaVersion == 1, info.eventID
                ))
        }
        handlers.handle(Shipped.self) { event, info in
            seen.record(
                (
                    info.aggregateID, event.sequence,
                    event.carrier == "carrier-\(event.sequence)" && info.envelope.eventType == Shipped.eventType
                        && info.publishedSchemaVersion == 1, info.eventID
                ))
        }
        let subscription = try await bus.subscribe(topic: topic, group: context.group(), handlers: handlers)
        let raw = Recorder<ReceivedMessage>()
        _ = try await bus.subscribe(topic: topic, group: context.group("raw")) { raw.record($0) }
        for aggregate in 0..<aggregates {
            let events: [any DomainEvent] = (0..<perAggregate).map { sequence -> any DomainEvent in
                if sequence % 2 == 0 { return Placed(sequence: sequence, note: "placed-\(sequence)") }
                return Shipped(sequence: sequence, carrier: "carrier-\(sequence)")
            }
            try await bus.publish(events, aggregateID: "typed-\(aggregate)", to: topic)
        }
        let total = aggregates * perAggregate
        try await waitUntil(
            timeout: context.timeout(10),
            "\(total) typed events and \(total) raw messages (have \(seen.count), \(raw.count))"
        ) {
            seen.count >= total && raw.count >= total
        }
        try await context.shutDown(bus)

        let records = seen.snapshot
        try expect(records.count == total, "\(records.count) typed events handled, expected \(total) (duplicates?)")
        try expect(
            records.allSatisfy(\.matches),
            "some events arrived with wrong fields or envelope: \(sample(records.filter { !$0.matches }))")
        try expect(Set(records.map(\.eventID)).count == total, "event IDs are not unique per event")
        let perKey = Dictionary(grouping: records, by: \.aggregate).mapValues { $0.map(\.sequence) }
        if context.features.guaranteedOrderPerKey {
            let disordered = perKey.filter { $0.value != Array(0..<perAggregate) }
            try expect(disordered.isEmpty, "aggregates out of order or incomplete: \(sample(Array(disordered)))")
        }
        try expect(
            subscription.statistics.handled == total && subscription.statistics.skippedUnknownTypes == 0,
            "statistics \(subscription.statistics), expected \(total) handled")
        let message = raw.snapshot[0]
        let envelope = try? EnvelopeCodec.decode(message.payload)
        let known = [Placed.eventType, Shipped.eventType]
        try expect(
            envelope.map { known.contains($0.eventType) && $0.eventVersion == 1 } == true
                && message.headers[header: OutgoingMessage.EnvelopeHeader.eventType] == envelope?.eventType
                && message.key == envelope?.aggregateID,
            "the wire message is not a jxt-core envelope with event_type/event_version of the Swift type: "
                + String(decoding: message.payload, as: UTF8.self))
        return .passed(notes: ["\(total) typed events of 2 types, \(aggregates) aggregates in order"])
    }

    /// An event type nobody registered, between two known events of one aggregate, read by two
    /// groups: under `.skip` it is acknowledged and counted, never dead-lettered; under `.deadLetter`
    /// it is dead-lettered after one attempt with `unknownEventType`. Both groups handle the known
    /// event after it.
    static func handlesUnknownEventTypes(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let aggregate = "unknown-types"
        let deadLetterTopic = context.features.deadLetterTopic(topic)
        let deadLetters = Recorder<ReceivedMessage>()
        _ = try await bus.subscribe(topic: deadLetterTopic, group: context.group("dlq")) { deadLetters.record($0) }
        let skipping = Recorder<Int>()
        let deadLettering = Recorder<Int>()
        var skipHandlers = DomainEventHandlers(unknownEventTypes: .skip)
        skipHandlers.handle(Placed.self) { skipping.record($0.sequence) }
        var deadLetterHandlers = DomainEventHandlers(unknownEventTypes: .deadLetter)
        deadLetterHandlers.handle(Placed.self) { deadLettering.record($0.sequence) }
        let skipper = try await bus.subscribe(topic: topic, group: context.group("skip"), handlers: skipHandlers)
        let strict = try await bus.subscribe(
            topic: topic, group: context.group("dead-letter"), handlers: deadLetterHandlers)
        let unknown = ConformanceTypedEvents.raw(
            aggregate, type: "ConformanceNobodyHandlesThis", version: 1, payload: #"{"sequence":1}"#)
        try await bus.publish(
            [
                try Envelope(event: Placed(sequence: 0, note: "before"), aggregateID: aggregate), unknown,
                try Envelope(event: Placed(sequence: 2, note: "after"), aggregateID: aggregate),
            ], to: topic)
        try await waitUntil(
            timeout: context.timeout(10),
            "both groups past the unknown event (skip \(skipping.snapshot), dead-letter \(deadLettering.snapshot))"
        ) {
            skipping.count >= 2 && deadLettering.count >= 2 && deadLetters.count >= 1
        }
        // A marker behind any letter the skipping group might have written (same key, same partition):
        // once it arrives, every letter written before it has arrived too.
        try await bus.publish(OutgoingMessage(topic: deadLetterTopic, key: aggregate, payload: Array("marker".utf8)))
        try await waitUntil(timeout: context.timeout(10), "the marker on the dead-letter topic") {
            deadLetters.snapshot.contains { $0.payload == Array("marker".utf8) }
        }
        try await context.shutDown(bus)

        let letters = deadLetters.snapshot.filter { $0.payload != Array("marker".utf8) }
        try expect(letters.count == 1, "expected 1 dead letter (from the .deadLetter group), got \(letters.count)")
        let letter = letters[0]
        let error = letter.headers[header: errorHeader] ?? "missing"
        try expect(
            error.contains("unknownEventType") && letter.headers[header: attemptsHeader] == "1",
            "dead letter has \(errorHeader) \"\(error)\" and \(attemptsHeader) "
                + "\(letter.headers[header: attemptsHeader] ?? "missing"), expected unknownEventType after 1 attempt")
        try expect(
            (try? EnvelopeCodec.decode(letter.payload))?.eventID == unknown.eventID,
            "the dead letter is not the unknown event: \(String(decoding: letter.payload, as: UTF8.self))")
        let ordered = context.features.guaranteedOrderPerKey
        func inOrder(_ values: [Int]) -> [Int] { ordered ? values : values.sorted() }
        try expect(
            inOrder(skipping.snapshot) == [0, 2] && inOrder(deadLettering.snapshot) == [0, 2],
            "expected [0, 2] handled by both groups, saw skip \(skipping.snapshot), dead-letter \(deadLettering.snapshot)"
        )
        try expect(
            skipper.statistics.skippedUnknownTypes == 1 && strict.statistics.skippedUnknownTypes == 0,
            "skipped counts: .skip group \(skipper.statistics.skippedUnknownTypes) (expected 1), .deadLetter group "
                + "\(strict.statistics.skippedUnknownTypes) (expected 0)")
        return .passed(notes: ["skip: counted and acknowledged; deadLetter: \(error)"])
    }

    /// Between good events of one aggregate: a payload that does not decode into the registered type,
    /// and an event of a schema version newer than the registered one. Both are dead-lettered after
    /// exactly one attempt (retrying cannot fix them) with `eventDecodingFailed` and
    /// `unsupportedSchemaVersion`; the handler never sees them and the aggregate's later event follows.
    static func deadLettersUndecodableTypedEvents(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let aggregate = "undecodable"
        let deadLetters = Recorder<ReceivedMessage>()
        _ = try await bus.subscribe(topic: context.features.deadLetterTopic(topic), group: context.group("dlq")) {
            deadLetters.record($0)
        }
        let handled = Recorder<Int>()
        var handlers = DomainEventHandlers()
        handlers.handle(Placed.self) { handled.record($0.sequence) }
        _ = try await bus.subscribe(topic: topic, group: context.group(), handlers: handlers)
        let undecodable = ConformanceTypedEvents.raw(
            aggregate, type: Placed.eventType, version: 1, payload: #"{"sequence":"one","note":"wrong type"}"#)
        let tooNew = ConformanceTypedEvents.raw(
            aggregate, type: Placed.eventType, version: 2, payload: #"{"sequence":2,"note":"from the future"}"#)
        try await bus.publish(
            [
                try Envelope(event: Placed(sequence: 0, note: "first"), aggregateID: aggregate), undecodable, tooNew,
                try Envelope(event: Placed(sequence: 3, note: "last"), aggregateID: aggregate),
            ], to: topic)
        try await waitUntil(
            timeout: context.timeout(10),
            "2 dead letters and the last event (have \(deadLetters.count), handled \(handled.snapshot))"
        ) {
            deadLetters.count >= 2 && handled.snapshot.contains(3)
        }
        try await context.shutDown(bus)

        let handledInOrder = context.features.guaranteedOrderPerKey ? handled.snapshot : handled.snapshot.sorted()
        try expect(handledInOrder == [0, 3], "expected events 0 and 3 handled once each, saw \(handled.snapshot)")
        let letters = deadLetters.snapshot
        try expect(letters.count == 2, "expected 2 dead letters, got \(letters.count)")
        var notes: [String] = []
        for (expected, code) in [(undecodable, "eventDecodingFailed"), (tooNew, "unsupportedSchemaVersion")] {
            let letter = letters.first { (try? EnvelopeCodec.decode($0.payload))?.eventID == expected.eventID }
            let error = letter?.headers[header: errorHeader] ?? "missing"
            let attempts = letter?.headers[header: attemptsHeader] ?? "missing"
            try expect(letter != nil, "no dead letter for the \(code) event \(expected.eventID)")
            try expect(
                error.contains(code) && attempts == "1",
                "the \(code) event's dead letter has \(errorHeader) \"\(error)\" and \(attemptsHeader) \(attempts); "
                    + "expected \(code) after 1 attempt (retrying cannot fix it)")
            notes.append(error)
        }
        return .passed(notes: notes)
    }

    /// One aggregate's price events published as v1 and v2 payloads (raw, as older services did) and
    /// as a typed v3 event: the handler of v3 receives all three as v3, converted by the v1→v2 and
    /// v2→v3 upcasters, in publish order, each with the schema version it was published with.
    static func upcastsTypedEvents(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let aggregate = "upcast"
        let seen = Recorder<(event: Price, published: Int64)>()
        var handlers = DomainEventHandlers(unknownEventTypes: .deadLetter)
        handlers.handle(Price.self) { event, info in seen.record((event, info.publishedSchemaVersion)) }
        handlers.upcast(Price.self, from: 2, ConformanceTypedEvents.priceV2toV3)
        handlers.upcast(Price.self, from: 1, ConformanceTypedEvents.priceV1toV2)
        let subscription = try await bus.subscribe(topic: topic, group: context.group(), handlers: handlers)
        try await bus.publish(
            [
                ConformanceTypedEvents.raw(
                    aggregate, type: Price.eventType, version: 1, payload: #"{"sequence":1,"price":12.5}"#),
                ConformanceTypedEvents.raw(
                    aggregate, type: Price.eventType, version: 2, payload: #"{"priceCents":1399,"sequence":2}"#),
                try Envelope(
                    event: Price(sequence: 3, amount: .init(cents: 1500, currency: "CHF")), aggregateID: aggregate),
            ], to: topic)
        try await waitUntil(timeout: context.timeout(10), "3 price events (have \(seen.count))") { seen.count >= 3 }
        try await context.shutDown(bus)

        let expected: [(Price, Int64)] = [
            (Price(sequence: 1, amount: .init(cents: 1250, currency: "EUR")), 1),
            (Price(sequence: 2, amount: .init(cents: 1399, currency: "EUR")), 2),
            (Price(sequence: 3, amount: .init(cents: 1500, currency: "CHF")), 3),
        ]
        let got =
            context.features.guaranteedOrderPerKey
            ? seen.snapshot : seen.snapshot.sorted { $0.event.sequence < $1.event.sequence }
        try expect(
            got.count == 3 && zip(got, expected).allSatisfy { $0.event == $1.0 && $0.published == $1.1 },
            "expected \(expected) in order, saw \(got)")
        try expect(
            subscription.statistics.upcast == 2, "\(subscription.statistics.upcast) events upcast, expected 2")
        return .passed(notes: ["v1 and v2 payloads arrived as v3 through 2 upcasters"])
    }
}
