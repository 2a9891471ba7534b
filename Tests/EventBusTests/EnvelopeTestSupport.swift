import EventBus
import XCTest

/// Shared fixtures and assertions for the envelope tests.
enum EnvelopeFixtures {
    /// 2026-11-25T12:00:00.123456789Z.
    static let timestamp = EventTimestamp(nanosecondsSinceEpoch: 1_795_608_000_123_456_789)
    static let payload = Array(#"{"amount":125.50,"currency":"EUR","n":42}"#.utf8)

    static func full() -> Envelope {
        Envelope(
            eventID: "01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f",
            aggregateID: "order-12345",
            eventType: "OrderPlaced",
            eventVersion: 3,
            timestamp: timestamp,
            traceID: "4bf92f3577b34da6a3ce929d0e0e4736",
            correlationID: "req-77",
            tenantID: "tenant-a",
            payload: payload)
    }

    static func minimal() -> Envelope {
        Envelope(
            eventID: "e-1", aggregateID: "a", eventType: "T", eventVersion: 1, timestamp: timestamp,
            payload: Array("1".utf8))
    }

    /// A valid document with every field, used as the base of malformed variations.
    static let document =
        #"{"event_id":"e-1","aggregate_id":"order-1","event_type":"OrderPlaced","event_version":3,"#
        + #""timestamp":"2026-11-25T12:00:00.123456789Z","trace_id":"t-1","payload":{"a":[1,2.5e3,"x\"y"],"b":null}}"#
}

/// Asserts `body` throws an `EventBusError` with `code` and `field`, and returns it for more checks.
@discardableResult
func assertEnvelopeCodecError<T>(
    _ code: EventBusError.Code,
    field: String?,
    _ body: () throws(EventBusError) -> T,
    file: StaticString = #filePath,
    line: UInt = #line
) -> EventBusError? {
    do {
        let value = try body()
        XCTFail("expected \(code) (field \(field ?? "nil")) but got \(value)", file: file, line: line)
        return nil
    } catch {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
        XCTAssertFalse(error.isRetriable, file: file, line: line)
        return error
    }
}

/// Decodes UTF-8 text.
func decodeEnvelopeJSON(_ text: String) throws(EventBusError) -> Envelope {
    try EnvelopeCodec.decode(Array(text.utf8))
}
