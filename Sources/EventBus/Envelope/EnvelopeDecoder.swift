/// Reads one envelope object from JSON bytes with a ``JSONScanner``.
///
/// Choices where JSON leaves room (documented on ``EnvelopeCodec``): keys in any order; unknown keys
/// skipped after full validation; a known key given twice is rejected; `null` counts as absent for
/// every field but `payload`; empty optional strings decode as `nil`.
enum EnvelopeDecoder {
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(EventBusError) -> Envelope {
        var scanner = JSONScanner(bytes)
        let json = EnvelopeField.json
        scanner.skipWhitespace()
        guard !scanner.isAtEnd else { throw scanner.error(json, "empty input: expected a JSON object") }
        try scanner.expect(UInt8(ascii: "{"), field: json, "'{' to start the envelope object")

        var seen: UInt16 = 0
        var eventID = ""
        var aggregateID = ""
        var eventType = ""
        var eventVersion: Int64 = 0
        var timestamp: EventTimestamp?
        var traceID: String?
        var correlationID: String?
        var tenantID: String?
        var payload: [UInt8] = []

        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.offset += 1
        } else {
            while true {
                guard scanner.peek() == UInt8(ascii: "\"") else {
                    throw scanner.error(json, scanner.isAtEnd ? "input ended inside the object" : "expected a key")
                }
                let keyStart = scanner.offset
                let rawKey = try scanner.scanString(field: json)
                let key = try identify(rawKey, scanner: scanner)
                scanner.skipWhitespace()
                let field = key?.name ?? json
                try scanner.expect(UInt8(ascii: ":"), field: field, "':' after key")
                scanner.skipWhitespace()

                if let key {
                    guard seen & key.rawValue == 0 else {
                        throw scanner.error(key.name, "duplicate key \"\(key.name)\"", at: keyStart)
                    }
                    seen |= key.rawValue
                    switch key {
                    case .eventID: eventID = try string(&scanner, field: key.name) ?? ""
                    case .aggregateID: aggregateID = try string(&scanner, field: key.name) ?? ""
                    case .eventType: eventType = try string(&scanner, field: key.name) ?? ""
                    case .traceID: traceID = try string(&scanner, field: key.name)
                    case .correlationID: correlationID = try string(&scanner, field: key.name)
                    case .tenantID: tenantID = try string(&scanner, field: key.name)
                    case .eventVersion:
                        if !scanner.skipNull() {
                            guard let first = scanner.peek(),
                                first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
                            else { throw scanner.error(key.name, "expected an integer") }
                            eventVersion = try scanner.scanInt64(field: key.name)
                        }
                    case .timestamp: timestamp = try parseTimestamp(&scanner)
                    case .payload:
                        let range = try scanner.scanValue(field: key.name)
                        payload = Array(UnsafeBufferPointer(rebasing: bytes[range]))
                    }
                } else {
                    do throws(EventBusError) {
                        _ = try scanner.scanValue(field: json)
                    } catch {
                        // Name the unknown key only when failing, to keep the happy path allocation-free.
                        var named = error
                        named.field = String(
                            decoding: UnsafeBufferPointer(rebasing: bytes[rawKey.start..<rawKey.end]), as: UTF8.self)
                        throw named
                    }
                }

                scanner.skipWhitespace()
                guard let next = scanner.peek() else { throw scanner.error(json, "input ended inside the object") }
                scanner.offset += 1
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else {
                    throw scanner.error(
                        json, "expected ',' or '}' after the value of \"\(field)\"", at: scanner.offset - 1)
                }
                scanner.skipWhitespace()
            }
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.error(json, "trailing data after the envelope object") }

        let envelope = Envelope(
            eventID: eventID,
            aggregateID: aggregateID,
            eventType: eventType,
            eventVersion: eventVersion,
            timestamp: timestamp ?? EventTimestamp(nanosecondsSinceEpoch: 0),
            traceID: traceID,
            correlationID: correlationID,
            tenantID: tenantID,
            payload: payload)
        // jxt-core's rules first, in its order; then the timestamp Go would default to year 1, which
        // an Int64 of nanoseconds cannot hold.
        try EnvelopeValidator.validate(envelope)
        guard timestamp != nil else {
            throw EventBusError(.invalidEnvelope, "timestamp is required", field: EnvelopeField.timestamp.description)
        }
        return envelope
    }

    private static func identify(_ rawKey: JSONScanner.RawString, scanner: JSONScanner) throws(EventBusError)
        -> EnvelopeField.Key?
    {
        if !rawKey.hasEscapes {
            return EnvelopeField.identify(UnsafeBufferPointer(rebasing: scanner.bytes[rawKey.start..<rawKey.end]))
        }
        // Escaped keys are legal JSON (`"event\u005fid"`); unescape before matching.
        var key = try scanner.makeString(rawKey, field: EnvelopeField.json)
        return key.withUTF8 { EnvelopeField.identify($0) }
    }

    /// A string value, or `nil` for `null` and for the empty string.
    private static func string(_ scanner: inout JSONScanner, field: StaticString) throws(EventBusError) -> String? {
        if scanner.skipNull() { return nil }
        guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.error(field, "expected a string") }
        let raw = try scanner.scanString(field: field)
        guard raw.end > raw.start else { return nil }
        return try scanner.makeString(raw, field: field)
    }

    private static func parseTimestamp(_ scanner: inout JSONScanner) throws(EventBusError) -> EventTimestamp? {
        let field = EnvelopeField.timestamp
        if scanner.skipNull() { return nil }
        guard scanner.peek() == UInt8(ascii: "\"") else {
            throw scanner.error(field, "expected an RFC 3339 string")
        }
        let raw = try scanner.scanString(field: field)
        guard raw.hasEscapes else {
            return try EventTimestamp.parseRFC3339(
                UnsafeBufferPointer(rebasing: scanner.bytes[raw.start..<raw.end]), baseOffset: raw.start)
        }
        var text = try scanner.makeString(raw, field: field)
        let parsed = text.withUTF8 { bytes -> Result<EventTimestamp, EventBusError> in
            do throws(EventBusError) {
                return .success(try EventTimestamp.parseRFC3339(bytes, baseOffset: raw.start))
            } catch {
                return .failure(error)
            }
        }
        return try parsed.get()
    }
}
