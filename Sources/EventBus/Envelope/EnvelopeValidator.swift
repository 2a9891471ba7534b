/// The jxt-core envelope rules, checked before encoding and after decoding.
///
/// Mirrors `Envelope.Validate()` in the Go jxt-core event bus so that neither side accepts an event
/// the other rejects, with one deliberate difference: Go trims surrounding whitespace from the
/// aggregate ID before checking its characters; here whitespace is simply not an allowed character,
/// because the ID becomes a partition key and `" a"` and `"a"` must not silently differ.
enum EnvelopeValidator {
    /// The longest aggregate ID jxt-core accepts, in bytes (all allowed characters are ASCII).
    static let maximumAggregateIDLength = 256

    /// Throws `invalidEnvelope` with the JSON key of the first broken rule.
    static func validate(_ envelope: Envelope) throws(EventBusError) {
        try requireNotBlank(envelope.eventID, field: EnvelopeField.eventID)
        try requireNotBlank(envelope.aggregateID, field: EnvelopeField.aggregateID)
        try requireNotBlank(envelope.eventType, field: EnvelopeField.eventType)
        guard envelope.eventVersion > 0 else {
            throw invalid(
                EnvelopeField.eventVersion, "event_version must be positive, got \(envelope.eventVersion)")
        }
        guard !envelope.payload.isEmpty else {
            throw invalid(EnvelopeField.payload, "payload is required")
        }
        try validateAggregateID(envelope.aggregateID)
    }

    private static func invalid(_ field: StaticString, _ message: String) -> EventBusError {
        EventBusError(.invalidEnvelope, message, field: field.description)
    }

    /// Blank means empty or only whitespace, by the same Unicode `White_Space` property Go's
    /// `strings.TrimSpace` uses.
    private static func requireNotBlank(_ value: String, field: StaticString) throws(EventBusError) {
        // Fast path: a first byte that is printable ASCII settles it. Read through the UTF-8
        // view, not `withUTF8` on a copy, which retained and released the string's storage.
        if let first = value.utf8.first, first > 0x20, first < 0x80 { return }
        for scalar in value.unicodeScalars where !scalar.properties.isWhitespace { return }
        throw invalid(field, "\(field) is required and must not be blank")
    }

    private static func validateAggregateID(_ id: String) throws(EventBusError) {
        // Without a copy of the string (see `requireNotBlank`); a string without contiguous
        // UTF-8 (bridged) is scanned through an array of its bytes.
        let check = { (bytes: UnsafeBufferPointer<UInt8>) -> (Int, Int?) in
            for index in 0..<bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "-"),
                    UInt8(ascii: "."), UInt8(ascii: "/"):
                    continue
                default:
                    return (bytes.count, index)
                }
            }
            return (bytes.count, nil)
        }
        let (count, invalidIndex) =
            id.utf8.withContiguousStorageIfAvailable(check) ?? Array(id.utf8).withUnsafeBufferPointer(check)
        let field = EnvelopeField.aggregateID
        if let invalidIndex {
            throw invalid(
                field, "aggregate_id may only contain A-Z a-z 0-9 : _ - . / (invalid byte at index \(invalidIndex))")
        }
        guard count <= maximumAggregateIDLength else {
            throw invalid(
                field, "aggregate_id is \(count) characters long; at most \(maximumAggregateIDLength) allowed")
        }
    }
}
