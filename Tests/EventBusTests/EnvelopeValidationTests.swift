import EventBus
import XCTest

/// The jxt-core rules, checked on encode and after decode.
final class EnvelopeValidationTests: XCTestCase {
    /// Asserts both directions reject `envelope`: encoding it, and decoding the same fields as JSON.
    private func assertRejected(
        _ envelope: Envelope, field: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        assertEnvelopeCodecError(
            .invalidEnvelope, field: field,
            { () throws(EventBusError) in
                try EnvelopeCodec.encode(envelope)
            }, file: file, line: line)
        assertEnvelopeCodecError(
            .invalidEnvelope, field: field,
            { () throws(EventBusError) in
                try decodeEnvelopeJSON(json(envelope))
            }, file: file, line: line)
    }

    /// The envelope as JSON written by hand, so decoding can be tested with values encode refuses.
    private func json(_ envelope: Envelope) -> String {
        func quoted(_ text: String) -> String {
            var result = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": result += "\\\""
                case "\\": result += "\\\\"
                case "\n": result += "\\n"
                case "\t": result += "\\t"
                default: result.unicodeScalars.append(scalar)
                }
            }
            return result + "\""
        }
        var text = "{\"event_id\":\(quoted(envelope.eventID)),\"aggregate_id\":\(quoted(envelope.aggregateID)),"
        text += "\"event_type\":\(quoted(envelope.eventType)),\"event_version\":\(envelope.eventVersion),"
        text += "\"timestamp\":\"\(envelope.timestamp.rfc3339)\""
        if !envelope.payload.isEmpty { text += ",\"payload\":" + String(decoding: envelope.payload, as: UTF8.self) }
        return text + "}"
    }

    func testRejectsEventIDWhenEmptyOrBlank() {
        for blank in ["", "   ", "\t\n", "\u{A0}", "\u{2003}\u{3000}"] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.eventID = blank
            assertRejected(envelope, field: "event_id")
        }
    }

    func testRejectsAggregateIDWhenEmptyOrBlank() {
        for blank in ["", " ", "\n"] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.aggregateID = blank
            assertRejected(envelope, field: "aggregate_id")
        }
    }

    func testRejectsEventTypeWhenEmptyOrBlank() {
        for blank in ["", "  \t"] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.eventType = blank
            assertRejected(envelope, field: "event_type")
        }
    }

    func testRejectsEventVersionWhenNotPositive() {
        for version in [0, -1, Int64.min] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.eventVersion = version
            assertRejected(envelope, field: "event_version")
        }
    }

    func testRejectsPayloadWhenEmpty() {
        var envelope = EnvelopeFixtures.minimal()
        envelope.payload = []
        assertRejected(envelope, field: "payload")
    }

    func testRejectsAggregateIDWhenItHasForbiddenCharacters() {
        for id in ["order 1", " order", "order\t", "ä", "a#b", "a\"b", "a\\b", "a,b"] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.aggregateID = id
            assertRejected(envelope, field: "aggregate_id")
        }
    }

    func testAcceptsAggregateIDWhenItUsesEveryAllowedCharacter() throws {
        var envelope = EnvelopeFixtures.minimal()
        envelope.aggregateID = "AZaz09:_-./"
        XCTAssertEqual(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)), envelope)
    }

    func testRejectsAggregateIDWhenLongerThan256Characters() throws {
        var envelope = EnvelopeFixtures.minimal()
        envelope.aggregateID = String(repeating: "a", count: 256)
        XCTAssertEqual(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)), envelope)
        envelope.aggregateID += "b"
        assertRejected(envelope, field: "aggregate_id")
    }

    func testRejectsPayloadOnEncodeWhenNotWellFormedJSON() {
        for payload in ["{", "}", "{\"a\":}", "[1,]", "01", "tru", "\"unterminated", "1 2", "{} x", "   ", "NaN"] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.payload = Array(payload.utf8)
            let error = assertEnvelopeCodecError(.invalidEnvelope, field: "payload") { () throws(EventBusError) in
                try EnvelopeCodec.encode(envelope)
            }
            XCTAssertTrue(error?.message.contains("byte offset") ?? false, "\(payload): \(String(describing: error))")
        }
        var nonUTF8 = EnvelopeFixtures.minimal()
        nonUTF8.payload = [UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")]
        assertEnvelopeCodecError(.invalidEnvelope, field: "payload") { () throws(EventBusError) in
            try EnvelopeCodec.encode(nonUTF8)
        }
    }

    /// Asserts `encode`, `encode(appendingTo:)` and `validate` all refuse `envelope`'s payload and
    /// returns the message.
    @discardableResult
    private func assertPayloadRefused(
        _ envelope: Envelope, file: StaticString = #filePath, line: UInt = #line
    ) -> String {
        let error = assertEnvelopeCodecError(
            .invalidEnvelope, field: "payload",
            { () throws(EventBusError) in try EnvelopeCodec.encode(envelope) }, file: file, line: line)
        var buffer = Array("x".utf8)
        assertEnvelopeCodecError(
            .invalidEnvelope, field: "payload",
            { () throws(EventBusError) in try EnvelopeCodec.encode(envelope, appendingTo: &buffer) },
            file: file, line: line)
        XCTAssertEqual(buffer, Array("x".utf8), file: file, line: line)
        assertEnvelopeCodecError(
            .invalidEnvelope, field: "payload",
            { () throws(EventBusError) in try EnvelopeCodec.validate(envelope) }, file: file, line: line)
        return error?.message ?? ""
    }

    func testRejectsPayloadOnEncodeWhenItHoldsLoneSurrogateEscape() throws {
        for payload in [
            #""\ud800""#, #""\udc00""#, #"{"k":"\udc00"}"#, #"["\ud800x"]"#, #"{"\ud800":1}"#, #""\ud800\u0041""#,
            #"[1,{"a":{"b":["ok","\uDBFF"]}}]"#, #""\udc00\ud800""#, #""\ud800\ud800""#,
        ] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.payload = Array(payload.utf8)
            let message = assertPayloadRefused(envelope)
            XCTAssertTrue(message.contains("surrogate") && message.contains("byte offset"), "\(payload): \(message)")
        }
        // Paired, the same escapes are a character and travel unchanged.
        var paired = EnvelopeFixtures.minimal()
        paired.payload = Array(#"{"\ud800\udc00":["\ud83d\ude00","\uDBFF\uDFFF"]}"#.utf8)
        let bytes = try EnvelopeCodec.encode(paired)
        XCTAssertTrue(
            String(decoding: bytes, as: UTF8.self).hasSuffix(
                #""payload":{"\ud800\udc00":["\ud83d\ude00","\uDBFF\uDFFF"]}}"#))
        XCTAssertEqual(try EnvelopeCodec.decode(bytes), paired)
    }

    func testRejectsPayloadWhenWhitespaceSurroundsItsValue() {
        // The issue's case first: it used to encode, then decode as `{}`.
        for payload in [" {}\n", "{} ", "\t1", "\r\n[]", "\"x\"\n", "null ", "  {\"a\": 1}  "] {
            var envelope = EnvelopeFixtures.minimal()
            envelope.payload = Array(payload.utf8)
            let message = assertPayloadRefused(envelope)
            XCTAssertTrue(message.contains("whitespace"), "\(payload.debugDescription): \(message)")
        }
    }

    func testRoundTripIsExactWhenPayloadHasOnlyInteriorWhitespace() throws {
        for payload in [
            "{\n  \"a\": [ 1 ,\t2 ],\r\n  \"b\" : { },\n  \"c\": \"  keep  \"\n}", "[ ]", "[1, {\"k\" : \"v\"}]",
            "{ }", "[\n]", "\"  \"",
        ] {
            var envelope = EnvelopeFixtures.full()
            envelope.payload = Array(payload.utf8)
            let bytes = try EnvelopeCodec.encode(envelope)
            XCTAssertTrue(
                String(decoding: bytes, as: UTF8.self).hasSuffix("\"payload\":" + payload + "}"),
                payload.debugDescription)
            let decoded = try EnvelopeCodec.decode(bytes)
            XCTAssertEqual(decoded, envelope, payload.debugDescription)
            XCTAssertEqual(decoded.payload, Array(payload.utf8), payload.debugDescription)
        }
    }

    func testInMemoryPublishRefusesEnvelopeWhenItsPayloadCannotTravel() async throws {
        // The in-memory bus carries envelopes unserialized (EnvelopeBatch); it must refuse what a
        // broker-backed publish refuses, and publish none of the batch.
        let bus = try InMemoryEventBus()
        let topic = "codec-edges-in-memory"
        let received = Recorder<[String]>([])
        let subscription = try await bus.subscribe(
            topic: topic, group: "g",
            envelopeHandler: { envelope in received.update { $0.append(envelope.eventID) } })
        for (index, payload) in [#""\ud800""#, #"{"k":"\udc00"}"#, " {}\n", "[] "].enumerated() {
            var valid = EnvelopeFixtures.minimal()
            valid.eventID = "refused-batch-\(index)"
            var bad = EnvelopeFixtures.minimal()
            bad.payload = Array(payload.utf8)
            do {
                try await bus.publish([valid, bad], to: topic)
                XCTFail("\(payload.debugDescription) was published")
            } catch {
                XCTAssertEqual(error.code, .invalidEnvelope, "\(error)")
                XCTAssertEqual(error.field, "payload", "\(error)")
            }
        }
        var last = EnvelopeFixtures.minimal()
        last.eventID = "accepted"
        try await bus.publish([last], to: topic)
        // One aggregate, one partition: anything published before "accepted" would arrive first.
        await waitUntil("the valid envelope arrives") { received.value.contains("accepted") }
        XCTAssertEqual(received.value, ["accepted"])
        await subscription.close()
        await bus.shutdown()
    }

    func testRejectsDecodedEnvelopeWhenRequiredKeyIsMissing() {
        let complete: [(String, String)] = [
            ("event_id", "\"e\""), ("aggregate_id", "\"a\""), ("event_type", "\"T\""), ("event_version", "1"),
            ("timestamp", "\"2026-11-25T12:00:00Z\""), ("payload", "{}"),
        ]
        XCTAssertNoThrow(
            try decodeEnvelopeJSON("{" + complete.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"))
        for missing in complete.map(\.0) {
            let text =
                "{" + complete.filter { $0.0 != missing }.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
            assertEnvelopeCodecError(.invalidEnvelope, field: missing) { () throws(EventBusError) in
                try decodeEnvelopeJSON(text)
            }
            let nulled =
                "{" + complete.map { "\"\($0.0)\":\($0.0 == missing ? "null" : $0.1)" }.joined(separator: ",") + "}"
            if missing != "payload" {
                assertEnvelopeCodecError(.invalidEnvelope, field: missing) { () throws(EventBusError) in
                    try decodeEnvelopeJSON(nulled)
                }
            }
        }
        assertEnvelopeCodecError(.invalidEnvelope, field: "event_id") { () throws(EventBusError) in
            try decodeEnvelopeJSON("{}")
        }
    }
}
