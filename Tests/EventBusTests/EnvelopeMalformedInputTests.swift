import EventBus
import XCTest

/// Bytes that are not an envelope must give a typed, non-retriable error, never a crash.
final class EnvelopeMalformedInputTests: XCTestCase {
    private func assertMalformed(
        _ text: String, field: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        let error = assertEnvelopeCodecError(
            .malformedEnvelope, field: field,
            { () throws(EventBusError) in
                try decodeEnvelopeJSON(text)
            }, file: file, line: line)
        if let error {
            XCTAssertTrue(error.message.contains("byte offset"), error.message, file: file, line: line)
        }
    }

    /// The fixture document with `original` replaced by `replacement`.
    private func document(replacing original: String, with replacement: String) -> String {
        let text = EnvelopeFixtures.document
        precondition(text.contains(original), "fixture lacks \(original)")
        return text.replacingOccurrences(of: original, with: replacement)
    }

    func testFixtureDecodesWhenUnchanged() throws {
        XCTAssertEqual(try decodeEnvelopeJSON(EnvelopeFixtures.document).eventType, "OrderPlaced")
    }

    func testRejectsEveryPrefixWhenDocumentIsTruncated() {
        let bytes = Array(EnvelopeFixtures.document.utf8)
        for length in 0..<bytes.count {
            do {
                let envelope = try EnvelopeCodec.decode(Array(bytes[0..<length]))
                XCTFail("prefix of \(length) bytes decoded to \(envelope)")
            } catch {
                XCTAssertEqual(error.code, .malformedEnvelope, "length \(length): \(error)")
                XCTAssertFalse(error.isRetriable)
                XCTAssertNotNil(error.field)
            }
        }
    }

    func testRejectsInputWhenEmptyOrNotAnObject() {
        for text in [
            "", "   \n", "[]", "\"x\"", "null", "42", "{", "{\"event_id\"", "{\"event_id\":", "{,}", "{\"a\":1,}",
        ] {
            do {
                let envelope = try decodeEnvelopeJSON(text)
                XCTFail("\(text) decoded to \(envelope)")
            } catch {
                XCTAssertEqual(error.code, .malformedEnvelope, "\(text): \(error)")
            }
        }
        assertMalformed("", field: "json")
        assertMalformed("[]", field: "json")
    }

    func testRejectsInputWhenTrailingDataFollowsTheObject() throws {
        XCTAssertNoThrow(try decodeEnvelopeJSON(EnvelopeFixtures.document + " \n\t\r"))
        assertMalformed(EnvelopeFixtures.document + "x", field: "json")
        assertMalformed(EnvelopeFixtures.document + "{}", field: "json")
        assertMalformed(EnvelopeFixtures.document + "\u{0}", field: "json")
        assertMalformed("\u{FEFF}" + EnvelopeFixtures.document, field: "json")
    }

    func testRejectsFieldWhenValueHasWrongType() {
        assertMalformed(document(replacing: #""event_id":"e-1""#, with: #""event_id":123"#), field: "event_id")
        assertMalformed(document(replacing: #""event_id":"e-1""#, with: #""event_id":["e"]"#), field: "event_id")
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: #""trace_id":true"#), field: "trace_id")
        assertMalformed(
            document(replacing: #""event_version":3"#, with: #""event_version":"3""#), field: "event_version")
        assertMalformed(
            document(replacing: #""event_version":3"#, with: #""event_version":3.0"#), field: "event_version")
        assertMalformed(
            document(replacing: #""event_version":3"#, with: #""event_version":3e2"#), field: "event_version")
        assertMalformed(
            document(replacing: #""event_version":3"#, with: #""event_version":03"#), field: "event_version")
        assertMalformed(document(replacing: #""event_version":3"#, with: #""event_version":-"#), field: "event_version")
        assertMalformed(
            document(replacing: #""event_version":3"#, with: #""event_version":true"#), field: "event_version")
        assertMalformed(
            document(replacing: #""timestamp":"2026-11-25T12:00:00.123456789Z""#, with: #""timestamp":1795608000"#),
            field: "timestamp")
    }

    func testRejectsVersionWhenBeyondInt64() {
        for huge in ["9223372036854775808", "-9223372036854775809", "99999999999999999999999999"] {
            assertMalformed(
                document(replacing: #""event_version":3"#, with: "\"event_version\":\(huge)"), field: "event_version")
        }
        assertEnvelopeCodecError(.invalidEnvelope, field: "event_version") { () throws(EventBusError) in
            try decodeEnvelopeJSON(
                document(replacing: #""event_version":3"#, with: #""event_version":-9223372036854775808"#))
        }
    }

    func testRejectsStringWhenEscapeIsInvalid() {
        for bad in [#"\x"#, #"\u12G4"#, #"\u123"#, #"\ud800"#, #"\udc00x"#, #"\ud800\u0041"#, #"\ud800\n"#, #"\'"#] {
            assertMalformed(document(replacing: #""OrderPlaced""#, with: "\"Order\(bad)\""), field: "event_type")
        }
        assertMalformed(document(replacing: #""x\"y""#, with: #""\q""#), field: "payload")
    }

    /// Escapes that leave a UTF-16 surrogate unpaired: a lone high, a lone low, a high followed by
    /// anything but a low-surrogate escape, a pair in the wrong order.
    private static let loneSurrogates = [
        #"\ud800"#, #"\udc00"#, #"\uDBFF"#, #"\udfff"#, #"\ud800x"#, #"\ud800\u0041"#, #"\ud800\n"#,
        #"\ud800\ud800"#, #"\udc00\ud800"#, #"a\ud83d"#, #"\ud800\u"#, #"\ud800\udc0"#, #"\ude00\ud83d"#,
    ]

    func testRejectsLoneSurrogateEscapeWhenItIsInAnyStringOfTheDocument() {
        // (what to replace in the fixture, its replacement with the escape in place of @, the field named)
        let places: [(String, String, String)] = [
            (#""event_id":"e-1""#, #""event_id":"e@""#, "event_id"),
            (#""aggregate_id":"order-1""#, #""aggregate_id":"@""#, "aggregate_id"),
            (#""OrderPlaced""#, #""Order@""#, "event_type"),
            (#""trace_id":"t-1""#, #""trace_id":"@t""#, "trace_id"),
            (#""trace_id":"t-1""#, #""correlation_id":"@""#, "correlation_id"),
            (#""trace_id":"t-1""#, #""tenant_id":"@""#, "tenant_id"),
            (#""2026-11-25T12:00:00.123456789Z""#, #""2026-11-25T12:00:00@Z""#, "timestamp"),
            // Inside the payload: a nested value, a member name, the payload being a string itself.
            (#""x\"y""#, #""x@y""#, "payload"),
            (#"{"a":[1"#, #"{"a@":[1"#, "payload"),
            (#""payload":{"a":[1,2.5e3,"x\"y"],"b":null}"#, #""payload":"@""#, "payload"),
            // An unknown key's value, skipped but validated, and nested inside it.
            (#""trace_id":"t-1""#, #""x_extra":"@""#, "x_extra"),
            (#""trace_id":"t-1""#, #""x_extra":{"n":[true,"@"]}"#, "x_extra"),
            // A key: unknown keys, and escaped spellings of known ones, are read before they are named.
            (#""trace_id":"t-1""#, #""x@":1"#, "json"),
            (#""trace_id":"t-1""#, #""trace_id@":"t-1""#, "json"),
        ]
        for (original, template, field) in places {
            for escape in Self.loneSurrogates {
                let text = document(replacing: original, with: template.replacingOccurrences(of: "@", with: escape))
                assertMalformed(text, field: field)
                do {
                    _ = try decodeEnvelopeJSON(text)
                } catch {
                    XCTAssertTrue(
                        error.message.contains("surrogate"),
                        "\(escape) in \(field): \(error.message)")
                }
            }
        }
    }

    func testAcceptsSurrogatePairWhenEscapedInPayloadKeysAndUnknownValues() throws {
        let pair = #"\ud83d\ude00"#
        var text = document(replacing: #""x\"y""#, with: "\"x\(pair)y\"")
        text = text.replacingOccurrences(of: #""trace_id":"t-1""#, with: "\"x\(pair)\":{\"k\(pair)\":\"\(pair)\"}")
        text = text.replacingOccurrences(of: #""OrderPlaced""#, with: "\"Order\(pair)\\uDBFF\\uDFFF\"")
        let envelope = try decodeEnvelopeJSON(text)
        XCTAssertEqual(envelope.eventType, "Order😀\u{10FFFF}")
        // The payload keeps its escapes byte for byte.
        XCTAssertEqual(String(decoding: envelope.payload, as: UTF8.self), #"{"a":[1,2.5e3,"x\ud83d\ude00y"],"b":null}"#)
        XCTAssertEqual(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)), envelope)
    }

    func testRejectsStringWhenItHoldsRawControlCharacter() {
        assertMalformed(document(replacing: #""OrderPlaced""#, with: "\"Order\nPlaced\""), field: "event_type")
        assertMalformed(document(replacing: #""x\"y""#, with: "\"x\ty\""), field: "payload")
    }

    func testRejectsTimestampWhenNotRFC3339() {
        let bad = [
            "", "2026-11-25", "2026-11-25T12:00:00", "2026-11-25 12:00:00Z", "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-25T24:00:00Z",
            "2026-11-25T12:60:00Z", "2026-11-25T12:00:60Z", "2026-11-25T12:00:00.Z", "2026-11-25T12:00:00.1234567891",
            "2026-11-25T12:00:00+24:00", "2026-11-25T12:00:00+02:60", "2026-11-25T12:00:00+0200",
            "2026-11-25T12:00:00z",
            "2026-11-25t12:00:00Z", "2026-11-25T12:00:00ZZ", "+2026-11-25T12:00:00Z", "２026-11-25T12:00:00Z",
            "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1677-09-21T00:12:43.145224191Z",
            "2262-04-11T23:47:16.854775808Z",
        ]
        for text in bad {
            assertMalformed(
                document(replacing: "2026-11-25T12:00:00.123456789Z", with: text), field: "timestamp")
        }
    }

    func testRejectsKnownKeyWhenDuplicated() {
        assertMalformed(
            document(replacing: #""trace_id":"t-1""#, with: #""trace_id":"t-1","trace_id":"t-2""#), field: "trace_id")
        assertMalformed(
            document(replacing: #""trace_id":"t-1""#, with: #""trace_id":"t-1","event_version":4"#),
            field: "event_version")
        XCTAssertNoThrow(try decodeEnvelopeJSON(document(replacing: #""trace_id":"t-1""#, with: #""x":1,"x":2"#)))
    }

    func testRejectsUnknownKeyWhenItsValueIsMalformed() {
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: #""extra":[1,}"#), field: "extra")
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: #""extra":nul"#), field: "extra")
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: #""extra":{"a" 1}"#), field: "extra")
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: #""extra":-"#), field: "extra")
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: #""extra":1."#), field: "extra")
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: #""extra":{1:2}"#), field: "extra")
    }

    func testRejectsInputWhenBytesAreNotUTF8() {
        let base = Array(EnvelopeFixtures.document.utf8)
        let marker = Array("OrderPlaced".utf8)
        guard
            let index = base.indices.first(where: {
                base[$0..<min($0 + marker.count, base.count)].elementsEqual(marker)
            })
        else { return XCTFail("marker missing") }
        let invalidSequences: [[UInt8]] = [
            [0xFF], [0xC0, 0x80], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80],
            [0xF8, 0x88, 0x80, 0x80, 0x80],
        ]
        for sequence in invalidSequences {
            var bytes = base
            bytes.insert(contentsOf: sequence, at: index + 5)
            assertEnvelopeCodecError(.malformedEnvelope, field: "event_type") { () throws(EventBusError) in
                try EnvelopeCodec.decode(bytes)
            }
        }
        var outside = base
        outside.insert(0xFF, at: 1)
        assertEnvelopeCodecError(.malformedEnvelope, field: "json") { () throws(EventBusError) in
            try EnvelopeCodec.decode(outside)
        }
        var valid = base
        valid.insert(contentsOf: Array("é€😀".utf8), at: index + 5)
        XCTAssertNoThrow(try EnvelopeCodec.decode(valid))
    }

    func testRejectsPayloadWhenNestedBeyondDepthLimit() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        assertMalformed(document(replacing: #"{"a":[1,2.5e3,"x\"y"],"b":null}"#, with: deep), field: "payload")
        let deepObject = String(repeating: "{\"a\":", count: 5_000) + "1" + String(repeating: "}", count: 5_000)
        assertMalformed(document(replacing: #""trace_id":"t-1""#, with: "\"x\":" + deepObject), field: "x")
    }

    /// Found by scripts/fuzz.sh (Tests/Fuzz/corpus/finding-depth-empty-innermost.json): an empty
    /// innermost container was not counted, so one level more than the limit passed, and the envelope
    /// then nested 513 levels, which Foundation's JSONSerialization refuses.
    func testRejectsNestingAtExactlyOneLevelPastLimitWhenInnermostContainerIsEmpty() {
        let payload = #"{"a":[1,2.5e3,"x\"y"],"b":null}"#
        for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
            for (levels, accepted) in [(511, true), (512, false)] {
                // levels - 1 containers holding one value, the innermost empty.
                let innermost = open == "[" ? "[]" : "{}"
                let nested =
                    String(repeating: open, count: levels - 1) + innermost + String(repeating: close, count: levels - 1)
                for field in ["payload", "x_extra"] {
                    let text =
                        field == "payload"
                        ? document(replacing: payload, with: nested)
                        : document(replacing: #""trace_id":"t-1""#, with: "\"x_extra\":" + nested)
                    XCTAssertEqual(
                        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, accepted,
                        "Foundation, \(levels) levels in \(field)")
                    if accepted {
                        XCTAssertNoThrow(try decodeEnvelopeJSON(text), "\(levels) levels in \(field)")
                    } else {
                        assertMalformed(text, field: field)
                    }
                }
            }
        }
    }

    /// Numbers beyond a Double's range; the codec must agree with Foundation's JSONSerialization,
    /// which refuses them, wherever they are.
    func testRejectsNumberWhenItIsInfiniteAsDoubleAndAgreesWithFoundation() {
        let refused = [
            "1e400", "-1e400", "1e309", "2e308", "1.7976931348623159e308", "-1.8E+308",
            String(repeating: "9", count: 309),
            "9e22222222222229", "-2.5e1111111111111111111111111111", "0.000001e315", "100000000000000000000e289",
        ]
        let accepted = [
            "1e308", "1.7976931348623157e308", "1.7976931348623158e308", "-1.797693134862315799999e308", "0e999999",
            "-0.0e99999", "1e-400", "1e-99999999999999999999999", "10e307", "0.1e309", "100000000000000000000e288",
            String(repeating: "9", count: 308), "0." + String(repeating: "0", count: 400) + "1e400",
            "123456789012345678901234567890", "-0", "2.5e3",
        ]
        for (numbers, isAccepted) in [(refused, false), (accepted, true)] {
            for number in numbers {
                let foundation =
                    (try? JSONSerialization.jsonObject(with: Data(number.utf8), options: .fragmentsAllowed)) != nil
                XCTAssertEqual(foundation, isAccepted, "Foundation on \(number)")
                let inPayload = document(replacing: "2.5e3", with: number)
                let inUnknown = document(replacing: #""trace_id":"t-1""#, with: "\"x_extra\":[\(number)]")
                var envelope = EnvelopeFixtures.minimal()
                envelope.payload = Array(number.utf8)
                if isAccepted {
                    XCTAssertNoThrow(try decodeEnvelopeJSON(inPayload), number)
                    XCTAssertNoThrow(try decodeEnvelopeJSON(inUnknown), number)
                    XCTAssertEqual(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)), envelope, number)
                } else {
                    assertMalformed(inPayload, field: "payload")
                    assertMalformed(inUnknown, field: "x_extra")
                    assertEnvelopeCodecError(.invalidEnvelope, field: "payload") { () throws(EventBusError) in
                        try EnvelopeCodec.encode(envelope)
                    }
                }
            }
        }
    }

    func testNeverCrashesWhenBytesAreRandomlyMutated() {
        // Deterministic SplitMix64, so a failure reproduces.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let base = Array(EnvelopeFixtures.document.utf8)
        let interesting: [UInt8] =
            Array("{}[]\",:\\u0123456789-+.eEtfnZT ".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        var decoded = 0
        var rejected = 0
        for _ in 0..<20_000 {
            var bytes = base
            for _ in 0..<(1 + Int(next() % 3)) {
                let position = Int(next() % UInt64(bytes.count))
                let replacement = interesting[Int(next() % UInt64(interesting.count))]
                switch next() % 3 {
                case 0: bytes[position] = replacement
                case 1: bytes.insert(replacement, at: position)
                default: bytes.remove(at: position)
                }
                if bytes.isEmpty { break }
            }
            do {
                let envelope = try EnvelopeCodec.decode(bytes)
                // Whatever decodes must encode again and decode to the same envelope.
                XCTAssertEqual(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)), envelope)
                decoded += 1
            } catch {
                XCTAssertTrue(error.code == .malformedEnvelope || error.code == .invalidEnvelope, "\(error)")
                XCTAssertNotNil(error.field)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 1000)
        XCTAssertGreaterThan(decoded, 100)
    }
}
