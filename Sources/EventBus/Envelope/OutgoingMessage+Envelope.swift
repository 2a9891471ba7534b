extension OutgoingMessage {
    /// Header names every backend writes for envelopes, matching the jxt-core event bus.
    public enum EnvelopeHeader {
        public static let eventID = "X-Event-ID"
        public static let aggregateID = "X-Aggregate-ID"
        public static let eventVersion = "X-Event-Version"
        public static let eventType = "X-Event-Type"
        public static let traceID = "X-Trace-ID"
        public static let correlationID = "X-Correlation-ID"
        public static let tenantID = "X-Tenant-ID"
    }

    /// A message carrying `envelope` as JSON, keyed by its aggregate ID so one aggregate stays in order.
    public init(envelope: Envelope, topic: String) throws(EventBusError) {
        let payload = try EnvelopeCodec.encode(envelope)
        self.init(topic: topic, key: envelope.aggregateID, headers: Self.headers(for: envelope), payload: payload)
    }

    /// The headers every backend writes beside an envelope's JSON.
    static func headers(for envelope: Envelope) -> [MessageHeader] {
        var headers: [MessageHeader] = []
        headers.reserveCapacity(7)
        headers.append(MessageHeader(name: EnvelopeHeader.eventID, value: envelope.eventID))
        headers.append(MessageHeader(name: EnvelopeHeader.aggregateID, value: envelope.aggregateID))
        headers.append(MessageHeader(name: EnvelopeHeader.eventVersion, value: String(envelope.eventVersion)))
        headers.append(MessageHeader(name: EnvelopeHeader.eventType, value: envelope.eventType))
        if let traceID = envelope.traceID, !traceID.isEmpty {
            headers.append(MessageHeader(name: EnvelopeHeader.traceID, value: traceID))
        }
        if let correlationID = envelope.correlationID, !correlationID.isEmpty {
            headers.append(MessageHeader(name: EnvelopeHeader.correlationID, value: correlationID))
        }
        if let tenantID = envelope.tenantID, !tenantID.isEmpty {
            headers.append(MessageHeader(name: EnvelopeHeader.tenantID, value: tenantID))
        }
        return headers
    }
}
