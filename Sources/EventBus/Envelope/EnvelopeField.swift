/// The JSON keys of the jxt-core envelope wire format, in the order Go's `encoding/json` writes them.
///
/// Errors name these keys in ``EventBusError/field`` so a Go and a Swift service report the same culprit.
enum EnvelopeField {
    static let eventID: StaticString = "event_id"
    static let aggregateID: StaticString = "aggregate_id"
    static let eventType: StaticString = "event_type"
    static let eventVersion: StaticString = "event_version"
    static let timestamp: StaticString = "timestamp"
    static let traceID: StaticString = "trace_id"
    static let correlationID: StaticString = "correlation_id"
    static let tenantID: StaticString = "tenant_id"
    static let payload: StaticString = "payload"
    /// Names no key: the bytes are not JSON or not an object.
    static let json: StaticString = "json"

    /// Which known key the UTF-8 bytes spell, or `nil` for an unknown key (matching is exact, case-sensitive).
    static func identify(_ key: UnsafeBufferPointer<UInt8>) -> Key? {
        func equals(_ literal: StaticString) -> Bool {
            guard key.count == literal.utf8CodeUnitCount else { return false }
            let expected = literal.utf8Start
            for index in 0..<key.count where key[index] != expected[index] { return false }
            return true
        }
        switch key.count {
        case 7: return equals("payload") ? .payload : nil
        case 8:
            if equals("event_id") { return .eventID }
            return equals("trace_id") ? .traceID : nil
        case 9:
            if equals("timestamp") { return .timestamp }
            return equals("tenant_id") ? .tenantID : nil
        case 10: return equals("event_type") ? .eventType : nil
        case 12: return equals("aggregate_id") ? .aggregateID : nil
        case 13: return equals("event_version") ? .eventVersion : nil
        case 14: return equals("correlation_id") ? .correlationID : nil
        default: return nil
        }
    }

    /// A known key; its raw value is its bit in the decoder's seen-keys mask.
    enum Key: UInt16 {
        case eventID = 1
        case aggregateID = 2
        case eventType = 4
        case eventVersion = 8
        case timestamp = 16
        case traceID = 32
        case correlationID = 64
        case tenantID = 128
        case payload = 256

        var name: StaticString {
            switch self {
            case .eventID: EnvelopeField.eventID
            case .aggregateID: EnvelopeField.aggregateID
            case .eventType: EnvelopeField.eventType
            case .eventVersion: EnvelopeField.eventVersion
            case .timestamp: EnvelopeField.timestamp
            case .traceID: EnvelopeField.traceID
            case .correlationID: EnvelopeField.correlationID
            case .tenantID: EnvelopeField.tenantID
            case .payload: EnvelopeField.payload
            }
        }
    }
}
