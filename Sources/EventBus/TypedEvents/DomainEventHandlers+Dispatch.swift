import CoreMetrics

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension DomainEventHandlers {
    /// The envelope handler a typed subscription runs: route by `event_type`, upcast, decode, call.
    ///
    /// Every failure retrying cannot fix is thrown as a non-retriable ``EventBusError``, which the
    /// actor pool dead-letters after one attempt (see ``ActorPool``); the handler's own errors pass
    /// through unchanged and are retried as usual.
    /// `backend` is the bus's `messaging.system` value for the metrics' `backend` dimension; nil (no
    /// such dimension) for a bus from outside this package.
    package func envelopeHandler(
        counters: DomainEventSubscription.Counters, backend: String? = nil, topic: String, group: String
    ) -> EnvelopeHandler {
        let registrations = self.registrations
        let upcasters = self.upcasters
        let decoder = self.decoder
        let policy = unknownEventTypes
        let logger = self.logger
        // For the unknown-type error; ten names are enough to spot a typo without a huge X-Error header.
        let names = registrations.keys.sorted()
        let registered =
            names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", … \(names.count) in all" : "")
        let skippedCounter = Counter(
            label: "eventbus_typed_events_skipped_total",
            dimensions: (backend.map { [("backend", $0)] } ?? []) + [("topic", topic), ("group", group)],
            factory: metricsFactory)
        return { envelope in
            guard let registration = registrations[envelope.eventType] else {
                switch policy {
                case .skip:
                    counters.skipped()
                    skippedCounter.increment()
                    logger.debug(
                        "event type has no handler; skipped and acknowledged",
                        metadata: [
                            "eventbus.topic": "\(topic)",
                            "eventbus.group": "\(group)",
                            "eventbus.event_type": "\(envelope.eventType)",
                            "eventbus.event_id": "\(envelope.eventID)",
                        ])
                    return
                case .deadLetter:
                    throw EventBusError(
                        .unknownEventType,
                        "no handler for event type \"\(envelope.eventType)\" (event \(envelope.eventID)); "
                            + "registered: \(registered)",
                        field: "event_type", isRetriable: false)
                }
            }
            var payload = envelope.payload
            if envelope.eventVersion != registration.schemaVersion {
                payload = try Self.upcast(
                    envelope, to: registration.schemaVersion, steps: upcasters[envelope.eventType] ?? [:])
                counters.upcasted()
            }
            try await registration.route(envelope, payload, decoder)
            counters.handled()
        }
    }

    /// The payload of `envelope` brought from its `event_version` to `target` one step at a time.
    static func upcast(_ envelope: Envelope, to target: Int64, steps: [Int64: Upcaster]) throws(EventBusError)
        -> [UInt8]
    {
        let published = envelope.eventVersion
        let eventType = envelope.eventType
        guard published < target else {
            throw EventBusError(
                .unsupportedSchemaVersion,
                "\(eventType) v\(published) (event \(envelope.eventID)) is newer than v\(target), the newest "
                    + "version this subscription handles; deploy a consumer that knows it",
                field: "event_version", isRetriable: false)
        }
        if let missing = (published..<target).first(where: { steps[$0] == nil }) {
            throw EventBusError(
                .unsupportedSchemaVersion,
                "\(eventType) v\(published) (event \(envelope.eventID)) cannot be brought to v\(target): "
                    + "no upcaster from v\(missing) to v\(missing + 1)",
                field: "event_version", isRetriable: false)
        }
        var value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(envelope.payload))
        } catch {
            throw EventBusError(
                .eventDecodingFailed,
                "payload of \(eventType) v\(published) (event \(envelope.eventID)) is not JSON an upcaster can "
                    + "read: \(describe(error))",
                field: "payload", isRetriable: false, underlying: error)
        }
        for version in published..<target {
            guard let step = steps[version] else {
                throw EventBusError(
                    .unsupportedSchemaVersion, "no upcaster of \(eventType) from v\(version)", field: "event_version",
                    isRetriable: false)
            }
            do {
                value = try step(value)
            } catch {
                throw EventBusError(
                    .eventDecodingFailed,
                    "upcaster of \(eventType) from v\(version) to v\(version + 1) failed on event "
                        + "\(envelope.eventID): \(error)",
                    field: "payload", isRetriable: false, underlying: error)
            }
        }
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw EventBusError(
                .eventDecodingFailed,
                "the upcasters of \(eventType) produced a value that is not JSON for event \(envelope.eventID): "
                    + "\(error)",
                field: "payload", isRetriable: false, underlying: error)
        }
    }
}
