import EventBus
import XCTest

final class EnvelopeCodecTests: XCTestCase {
    func testRoundTripKeepsEveryFieldWhenEnvelopeIsFull() throws {
        let envelope = EnvelopeFixtures.full()
        XCTAssertEqual(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)), envelope)
    }

    func testRoundTripKeepsEveryFieldWhenEnvelopeIsMinimal() throws {
        let envelope = EnvelopeFixtures.minimal()
        let bytes = try EnvelopeCodec.encode(envelope)
        XCTAssertFalse(String(decoding: bytes, as: UTF8.self).contains("trace_id"))
        XCTAssertEqual(try EnvelopeCodec.decode(bytes), envelope)
    }

    func testEncodeWritesExactGoldenBytesWhenEnvelopeIsKnown() throws {
        let bytes = try EnvelopeCodec.encode(EnvelopeFixtures.full())
        let expected =
            #"{"event_id":"01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f","aggregate_id":"order-12345","#
            + #""event_type":"OrderPlaced","event_version":3,"timestamp":"2026-11-25T12:00:00.123456789Z","#
            + #""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","correlation_id":"req-77","tenant_id":"tenant-a","#
            + #""payload":{"amount":125.50,"currency":"EUR","n":42}}"#
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected)
    }

    func testEncodeOmitsOptionalFieldsWhenEmpty() throws {
        var envelope = EnvelopeFixtures.minimal()
        envelope.traceID = ""
        envelope.correlationID = ""
        envelope.tenantID = nil
        let text = String(decoding: try EnvelopeCodec.encode(envelope), as: UTF8.self)
        XCTAssertEqual(
            text,
            #"{"event_id":"e-1","aggregate_id":"a","event_type":"T","event_version":1,"#
                + #""timestamp":"2026-11-25T12:00:00.123456789Z","payload":1}"#)
        XCTAssertNil(try decodeEnvelopeJSON(text).traceID)
    }

    func testEncodeAppendsToExistingBufferWhenGivenOne() throws {
        var buffer = Array("prefix".utf8)
        try EnvelopeCodec.encode(EnvelopeFixtures.full(), appendingTo: &buffer)
        XCTAssertEqual(Array(buffer.prefix(6)), Array("prefix".utf8))
        XCTAssertEqual(Array(buffer.dropFirst(6)), try EnvelopeCodec.encode(EnvelopeFixtures.full()))

        var untouched = Array("x".utf8)
        var invalid = EnvelopeFixtures.full()
        invalid.eventVersion = 0
        assertEnvelopeCodecError(.invalidEnvelope, field: "event_version") { () throws(EventBusError) in
            try EnvelopeCodec.encode(invalid, appendingTo: &untouched)
        }
        XCTAssertEqual(untouched, Array("x".utf8))
    }

    func testDecodeReadsGoSampleWhenKeysAreReorderedAndUnknownKeysPresent() throws {
        // As jxt-core's Go encoder writes it, but reordered, pretty-printed, with a local offset and
        // an unknown key holding nested values with escapes.
        let sample = """
             {
              "payload": {"orderId": "o-9", "lines": [{"sku": "A\\"1", "qty": 2}], "note": null},
              "timestamp": "2026-11-25T14:00:00.5+02:00",
              "x_extra": {"nested": [1, -2.5e-3, true, false, null, "\\u00e9\\n", {"deep": []}]},
              "event_type": "Archive.Created",
              "tenant_id": "t-42",
              "event_version": 12,
              "aggregate_id": "archive:2026/11-25_x.y",
              "event_id": "019abc00-0000-7000-8000-000000000001"
            }\t\r\n
            """
        let envelope = try decodeEnvelopeJSON(sample)
        XCTAssertEqual(envelope.eventID, "019abc00-0000-7000-8000-000000000001")
        XCTAssertEqual(envelope.aggregateID, "archive:2026/11-25_x.y")
        XCTAssertEqual(envelope.eventType, "Archive.Created")
        XCTAssertEqual(envelope.eventVersion, 12)
        XCTAssertEqual(envelope.timestamp, EventTimestamp(nanosecondsSinceEpoch: 1_795_608_000_500_000_000))
        XCTAssertEqual(envelope.tenantID, "t-42")
        XCTAssertNil(envelope.traceID)
        XCTAssertNil(envelope.correlationID)
        XCTAssertEqual(
            String(decoding: envelope.payload, as: UTF8.self),
            #"{"orderId": "o-9", "lines": [{"sku": "A\"1", "qty": 2}], "note": null}"#)
    }

    func testDecodeTreatsNullAsAbsentWhenFieldIsOptional() throws {
        let text = EnvelopeFixtures.document.replacingOccurrences(of: #""trace_id":"t-1""#, with: #""trace_id":null"#)
        XCTAssertNil(try decodeEnvelopeJSON(text).traceID)
    }

    func testDecodeKeepsNullPayloadBytesWhenPayloadIsNull() throws {
        let text = EnvelopeFixtures.document.replacingOccurrences(
            of: #""payload":{"a":[1,2.5e3,"x\"y"],"b":null}"#, with: #""payload": null "#)
        XCTAssertEqual(try decodeEnvelopeJSON(text).payload, Array("null".utf8))
    }

    func testDecodeMatchesKeyWhenKeyIsEscaped() throws {
        let text = EnvelopeFixtures.document.replacingOccurrences(of: #""event_id""#, with: #""event\u005fid""#)
        XCTAssertEqual(try decodeEnvelopeJSON(text).eventID, "e-1")
    }

    func testDecodeAcceptsOtherContainersWhenGivenSliceOrRawBuffer() throws {
        let bytes = Array(("  " + EnvelopeFixtures.document).utf8)
        let fromArray = try EnvelopeCodec.decode(bytes)
        XCTAssertEqual(try EnvelopeCodec.decode(bytes[0...]), fromArray)
        let fromRaw = try bytes.withUnsafeBytes { raw throws(EventBusError) in try EnvelopeCodec.decode(raw) }
        XCTAssertEqual(fromRaw, fromArray)
        XCTAssertEqual(try EnvelopeCodec.decode(AnyCollection(bytes)), fromArray)
    }

    func testStringsRoundTripWhenTheyNeedEscaping() throws {
        var envelope = EnvelopeFixtures.full()
        envelope.eventType = "q\"b\\s/\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}é€😀"
        envelope.traceID = "line1\nline2"
        envelope.correlationID = "\u{0}"
        let bytes = try EnvelopeCodec.encode(envelope)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(
            text.contains(#""event_type":"q\"b\\s/\b\f\n\r\t\u0001\u001f"# + "\u{7F}é€😀\""), text)
        XCTAssertTrue(text.contains(#""correlation_id":"\u0000""#), text)
        XCTAssertEqual(try EnvelopeCodec.decode(bytes), envelope)
    }

    func testDecodeUnescapesEveryEscapeWhenStringUsesThem() throws {
        let escaped = #"\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00"#
        let text = EnvelopeFixtures.document.replacingOccurrences(of: #""OrderPlaced""#, with: "\"\(escaped)\"")
        XCTAssertEqual(try decodeEnvelopeJSON(text).eventType, "\"\\/\u{08}\u{0C}\n\r\tAé€😀")
    }

    func testEncodeWritesPayloadVerbatimWhenItHasInteriorWhitespace() throws {
        var envelope = EnvelopeFixtures.minimal()
        envelope.payload = Array("[1, {\"k\" : \"v\"}]".utf8)
        let bytes = try EnvelopeCodec.encode(envelope)
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).hasSuffix(#""payload":[1, {"k" : "v"}]}"#))
        XCTAssertEqual(try EnvelopeCodec.decode(bytes).payload, envelope.payload)
    }

    func testDecodeTruncatesTimestampToNanosecondsWhenFractionHasMoreThanNineDigits() throws {
        for written in ["2026-11-25T12:00:00.1234567891Z", #"2026-11-25T12:00:00.123456789999\u005a"#] {
            let text = EnvelopeFixtures.document.replacingOccurrences(
                of: "2026-11-25T12:00:00.123456789Z", with: written)
            let envelope = try decodeEnvelopeJSON(text)
            XCTAssertEqual(envelope.timestamp, EnvelopeFixtures.timestamp, written)
            // Encoding writes the nine digits kept, so the envelope itself round-trips exactly.
            let bytes = try EnvelopeCodec.encode(envelope)
            XCTAssertTrue(
                String(decoding: bytes, as: UTF8.self).contains(#""timestamp":"2026-11-25T12:00:00.123456789Z""#))
            XCTAssertEqual(try EnvelopeCodec.decode(bytes), envelope)
        }
    }

    func testRoundTripKeepsVersionWhenVersionIsInt64Max() throws {
        var envelope = EnvelopeFixtures.minimal()
        envelope.eventVersion = .max
        let bytes = try EnvelopeCodec.encode(envelope)
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).contains(#""event_version":9223372036854775807,"#))
        XCTAssertEqual(try EnvelopeCodec.decode(bytes).eventVersion, .max)
    }

    func testRoundTripKeepsTimestampWhenAtInt64Extremes() throws {
        for nanos in [Int64.min, .min + 1, -1, 0, 1, .max] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.timestamp = EventTimestamp(nanosecondsSinceEpoch: nanos)
            XCTAssertEqual(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)).timestamp, envelope.timestamp)
        }
    }

    func testDecodeAcceptsNestingWhenWithinDepthLimit() throws {
        // 511 levels in the payload, 512 with the envelope object: the most Foundation reads.
        var envelope = EnvelopeFixtures.minimal()
        envelope.payload = Array(
            (String(repeating: "[{\"a\":", count: 255) + "[]" + String(repeating: "}]", count: 255)).utf8)
        let bytes = try EnvelopeCodec.encode(envelope)
        XCTAssertEqual(try EnvelopeCodec.decode(bytes).payload, envelope.payload)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(bytes)))
    }
}
