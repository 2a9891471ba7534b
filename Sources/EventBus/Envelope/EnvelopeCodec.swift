/// Encodes and decodes ``Envelope``s in the jxt-core JSON wire format, so Go and Swift services
/// exchange events.
///
/// The format is one JSON object:
/// `{"event_id":…,"aggregate_id":…,"event_type":…,"event_version":3,"timestamp":"2026-11-25T12:00:00.123456789Z",`
/// `"trace_id":…,"correlation_id":…,"tenant_id":…,"payload":{…}}`. The optional IDs are omitted when
/// `nil` or empty; the payload is embedded as raw JSON.
///
/// Decoding is strict where being lenient would hide a bug on the producing side:
/// - keys may come in any order; unknown keys are skipped, but their values must be valid JSON;
/// - a known key given twice is rejected (`malformedEnvelope`, field = that key), since "last one
///   wins" would let two readers of the same bytes see different events;
/// - keys match exactly (Go's `encoding/json` also matches case-insensitively; we do not);
/// - `null` counts as absent for every field except `payload`, whose bytes are then `null` (as in Go);
///   an empty optional string decodes as `nil`, so encode → decode gives back an equal envelope;
/// - every string (keys, fields, skipped unknown values, strings anywhere in the payload) must be
///   valid UTF-8, and its `\u` escapes must not leave a UTF-16 surrogate unpaired (`"\ud800"`,
///   `"\udc00"`, `"\ud800\u0041"`): RFC 8259 §8.2 leaves such strings' meaning undefined, Go decodes
///   them as U+FFFD and Foundation's `JSONSerialization` refuses them, so no reader could agree;
/// - the payload's bytes are returned exactly as they appear, interior whitespace included, without
///   the whitespace around the value;
/// - numbers must be finite as a `Double` (`1e400` is refused) and values may nest at most 511
///   levels inside the envelope object: these are Foundation's `JSONSerialization` limits (512
///   levels in all), so a Swift consumer can read every envelope accepted here (Go reads them too);
/// - `timestamp` is RFC 3339 as Go's `time.Parse` reads it; digits of a second past the ninth are
///   truncated (see ``EventTimestamp/init(rfc3339:)``);
/// - nothing but whitespace may follow the object.
///
/// Encoding checks the same payload rules, so a payload that decoding would refuse is never
/// published, and adds one of its own:
///
/// **Payload whitespace.** A payload with whitespace before or after its JSON value (`" {}\n"`) is
/// refused (`invalidEnvelope`, field `payload`); interior whitespace is written byte for byte and
/// decodes back byte for byte. Keeping surrounding whitespace on decode cannot work: a reader sees the
/// envelope's own whitespace there too, and Go's `encoding/json` hands a `json.RawMessage` the value's
/// bytes without it (Go additionally compacts all whitespace when it marshals a `RawMessage`).
/// Trimming it on encode would make `decode(encode(x)) != x`, and the in-memory bus, which carries
/// envelopes without serializing them, would deliver other bytes than a broker does. Refusing keeps
/// every accepted envelope exact on every backend.
///
/// Unparseable bytes throw `malformedEnvelope` with the key being read (or `json`) and the byte
/// offset in the message; an envelope breaking a jxt-core rule, or one ``encode(_:)`` refuses, throws
/// `invalidEnvelope` naming the key. Neither is retriable: the same bytes will fail the same way.
public enum EnvelopeCodec {
    /// The envelope as JSON bytes, after checking the jxt-core rules and that the payload is exactly
    /// one JSON value: well-formed, no unpaired surrogate escape, no whitespace around it.
    ///
    /// Throws `invalidEnvelope` naming the field at fault; for every envelope it accepts,
    /// `decode(encode(envelope)) == envelope`.
    ///
    /// Allocates exactly once: the output size is computed before writing.
    public static func encode(_ envelope: Envelope) throws(EventBusError) -> [UInt8] {
        try validateForEncoding(envelope)
        let size = EnvelopeEncoder.encodedSize(envelope)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = EnvelopeEncoder.write(envelope, into: buffer, at: 0)
            assert(count == size, "encodedSize and write disagree")
        }
    }

    /// Appends the envelope's JSON to `buffer`, for callers that reuse one buffer or frame several
    /// envelopes together; `buffer` is unchanged when this throws.
    public static func encode(_ envelope: Envelope, appendingTo buffer: inout [UInt8]) throws(EventBusError) {
        try validateForEncoding(envelope)
        let size = EnvelopeEncoder.encodedSize(envelope)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: size))
        buffer.withUnsafeMutableBufferPointer { output in
            let written = EnvelopeEncoder.write(envelope, into: output, at: start)
            assert(written == size, "encodedSize and write disagree")
        }
    }

    /// Decodes and validates an envelope from JSON bytes.
    public static func decode(_ bytes: [UInt8]) throws(EventBusError) -> Envelope {
        try bytes.withUnsafeBufferPointer { buffer throws(EventBusError) in try EnvelopeDecoder.decode(buffer) }
    }

    /// Decodes and validates an envelope from memory a backend owns (for example a C message
    /// buffer), without copying the bytes first; they need to stay valid only during the call.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(EventBusError) -> Envelope {
        try EnvelopeDecoder.decode(bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Decodes and validates an envelope from any byte collection (`ArraySlice`, `Data`, …),
    /// reading contiguous storage in place and copying only when there is none.
    public static func decode(_ bytes: some Collection<UInt8>) throws(EventBusError) -> Envelope {
        if let result = bytes.withContiguousStorageIfAvailable({ decodeResult($0) }) {
            return try result.get()
        }
        return try decode(Array(bytes))
    }

    private static func decodeResult(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<Envelope, EventBusError> {
        do throws(EventBusError) {
            return .success(try EnvelopeDecoder.decode(buffer))
        } catch {
            return .failure(error)
        }
    }

    /// Checks `envelope` against every rule ``encode(_:)`` enforces, without encoding it.
    ///
    /// Backends that carry envelopes without serializing them (the in-memory bus) call it so a bad
    /// envelope fails at publish exactly as it would on a broker.
    public static func validate(_ envelope: Envelope) throws(EventBusError) {
        try validateForEncoding(envelope)
    }

    /// ``validate(_:)``, skipping the payload's JSON scan when `payloadScanned` says this exact
    /// payload storage passed it already (the caller compared storage identity: the same array
    /// buffer holds the same bytes); the envelope's other fields are always checked.
    static func validate(_ envelope: Envelope, payloadScanned: Bool) throws(EventBusError) {
        guard payloadScanned else { return try validateForEncoding(envelope) }
        try EnvelopeValidator.validate(envelope)
    }

    private static func validateForEncoding(_ envelope: Envelope) throws(EventBusError) {
        try EnvelopeValidator.validate(envelope)
        let field = EnvelopeField.payload
        let scanned = envelope.payload.withUnsafeBufferPointer { buffer -> Result<Range<Int>, EventBusError> in
            var scanner = JSONScanner(buffer)
            do throws(EventBusError) {
                let range = try scanner.scanValue(field: field)
                scanner.skipWhitespace()
                guard scanner.isAtEnd else {
                    return .failure(scanner.error(field, "trailing data after the payload's JSON value"))
                }
                return .success(range)
            } catch {
                return .failure(error)
            }
        }
        let range: Range<Int>
        switch scanned {
        case .success(let value): range = value
        case .failure(let problem):
            throw EventBusError(
                .invalidEnvelope, "payload is not one well-formed JSON value: \(problem.message)",
                field: field.description)
        }
        // See "Payload whitespace" on the type: decode cannot give these bytes back.
        guard range.lowerBound == 0, range.upperBound == envelope.payload.count else {
            let before = range.lowerBound
            let after = envelope.payload.count - range.upperBound
            throw EventBusError(
                .invalidEnvelope,
                "payload has whitespace around its JSON value (\(before) bytes before, \(after) after), which "
                    + "decoding drops, so the envelope would not decode back equal; trim it before publishing",
                field: field.description)
        }
    }
}
