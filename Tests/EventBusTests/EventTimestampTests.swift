import EventBus
import XCTest

final class EventTimestampTests: XCTestCase {
    func testFormatsLikeGoRFC3339NanoWhenFractionHasTrailingZeros() {
        let base: Int64 = 1_795_608_000_000_000_000  // 2026-11-25T12:00:00Z
        let cases: [(Int64, String)] = [
            (0, "2026-11-25T12:00:00Z"),
            (100_000_000, "2026-11-25T12:00:00.1Z"),
            (120_000_000, "2026-11-25T12:00:00.12Z"),
            (123_456_789, "2026-11-25T12:00:00.123456789Z"),
            (1, "2026-11-25T12:00:00.000000001Z"),
            (1_000, "2026-11-25T12:00:00.000001Z"),
        ]
        for (nanos, text) in cases {
            XCTAssertEqual(EventTimestamp(nanosecondsSinceEpoch: base + nanos).rfc3339, text)
        }
    }

    func testFormatsCalendarEdgesWhenNearEpochLeapDaysAndInt64Limits() {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59.999999999Z"),
            (-1_000_000_000, "1969-12-31T23:59:59Z"),
            (951_782_400_000_000_000, "2000-02-29T00:00:00Z"),
            (1_709_164_800_000_000_000, "2024-02-29T00:00:00Z"),
            (4_107_542_400_000_000_000, "2100-03-01T00:00:00Z"),
            (Int64.min, "1677-09-21T00:12:43.145224192Z"),
            (Int64.max, "2262-04-11T23:47:16.854775807Z"),
        ]
        for (nanos, text) in cases {
            let timestamp = EventTimestamp(nanosecondsSinceEpoch: nanos)
            XCTAssertEqual(timestamp.rfc3339, text)
            XCTAssertEqual(timestamp.description, text)
            XCTAssertEqual(try EventTimestamp(rfc3339: text), timestamp)
        }
    }

    func testParsesSameInstantWhenOffsetDiffers() throws {
        let utc = try EventTimestamp(rfc3339: "2026-11-25T12:00:00Z")
        XCTAssertEqual(try EventTimestamp(rfc3339: "2026-11-25T14:00:00+02:00"), utc)
        XCTAssertEqual(try EventTimestamp(rfc3339: "2026-11-25T06:30:00-05:30"), utc)
        XCTAssertEqual(try EventTimestamp(rfc3339: "2026-11-25T12:00:00+00:00"), utc)
        XCTAssertEqual(try EventTimestamp(rfc3339: "2026-11-25T12:00:00-00:00"), utc)
        XCTAssertEqual(try EventTimestamp(rfc3339: "2026-11-26T11:59:00+23:59"), utc)
        XCTAssertEqual(try EventTimestamp(rfc3339: "2026-11-24T23:00:00-13:00"), utc)
    }

    func testParsesFractionWhenItHasOneToNineDigits() throws {
        let base: Int64 = 1_795_608_000_000_000_000
        var expected: Int64 = 0
        var digits = ""
        for digit in 1...9 {
            digits += String(digit)
            expected = expected * 10 + Int64(digit)
            var scale: Int64 = 1
            for _ in digit..<9 { scale *= 10 }
            let parsed = try EventTimestamp(rfc3339: "2026-11-25T12:00:00.\(digits)Z")
            XCTAssertEqual(parsed.nanosecondsSinceEpoch, base + expected * scale, digits)
        }
        XCTAssertEqual(
            try EventTimestamp(rfc3339: "2026-11-25T14:00:00.000000000+02:00").nanosecondsSinceEpoch, base)
    }

    func testTruncatesFractionToNanosecondsWhenItHasMoreThanNineDigits() throws {
        let base: Int64 = 1_795_608_000_000_000_000  // 2026-11-25T12:00:00Z
        let cases: [(String, Int64)] = [
            ("2026-11-25T12:00:00.1234567891Z", base + 123_456_789),  // the input
            ("2026-11-25T12:00:00.1234567890Z", base + 123_456_789),
            // Truncated, not rounded: rounding would carry into the next second.
            ("2026-11-25T12:00:00.9999999999Z", base + 999_999_999),
            ("2026-11-25T12:00:00.0000000009Z", base),
            ("2026-11-25T12:00:00." + String(repeating: "5", count: 40) + "Z", base + 555_555_555),
            ("2026-11-25T14:00:00.12345678912345+02:00", base + 123_456_789),
            // Before 1970 the cut fraction still moves the instant earlier, never towards the epoch.
            ("1969-12-31T23:59:59.9999999999Z", -1),
            // At the ends of the Int64 range: rounding .8547758079 up would overflow; truncating does not.
            ("2262-04-11T23:47:16.8547758079Z", .max),
            ("1677-09-21T00:12:43.1452241920Z", .min),
        ]
        for (text, nanos) in cases {
            XCTAssertEqual(try EventTimestamp(rfc3339: text).nanosecondsSinceEpoch, nanos, text)
        }
    }

    func testParseThrowsMalformedEnvelopeWhenTextIsInvalid() {
        // Go's time.Parse(time.RFC3339, …) refuses all but the last as well.
        for text in [
            "", "2026-11-25T12:00:00", "2026-11-25T12:00:00+2:00", "nonsense", "2026-11-25T12:00:00.Z",
            "2026-11-25T12:00:00.1234567891", "2026-11-25T12:00:00.1234567891x", "2026-11-25T12:00:00.12345678912Z ",
            "2026-11-25T12:00:00.1234567891+02", "2026-11-25T12:00:00..1Z",
            // A valid Go time, but truncation keeps it before Int64.min nanoseconds: out of our range.
            "1677-09-21T00:12:43.1452241919999Z",
        ] {
            assertEnvelopeCodecError(.malformedEnvelope, field: "timestamp") { () throws(EventBusError) in
                try EventTimestamp(rfc3339: text)
            }
        }
    }

    func testRoundTripsThroughFoundationDateWhenWithinMicrosecond() {
        let timestamp = EventTimestamp(nanosecondsSinceEpoch: 1_795_608_000_123_456_000)
        let date = timestamp.date
        XCTAssertEqual(date.timeIntervalSince1970, 1_795_608_000.123456, accuracy: 1e-6)
        XCTAssertEqual(
            Double(EventTimestamp(date).nanosecondsSinceEpoch - timestamp.nanosecondsSinceEpoch), 0, accuracy: 1_000)
        let before1970 = EventTimestamp(nanosecondsSinceEpoch: -1_500_000_000)
        XCTAssertEqual(before1970.date.timeIntervalSince1970, -1.5, accuracy: 1e-9)
        XCTAssertEqual(EventTimestamp(Date(timeIntervalSince1970: -1.5)), before1970)
        XCTAssertEqual(EventTimestamp(Date(timeIntervalSince1970: 0)), EventTimestamp(nanosecondsSinceEpoch: 0))
    }

    func testClampsFoundationDateWhenOutsideInt64Range() {
        XCTAssertEqual(EventTimestamp(Date.distantFuture).nanosecondsSinceEpoch, .max)
        XCTAssertEqual(EventTimestamp(Date.distantPast).nanosecondsSinceEpoch, .min)
        XCTAssertEqual(EventTimestamp(Date(timeIntervalSince1970: .infinity)).nanosecondsSinceEpoch, .max)
        XCTAssertEqual(EventTimestamp(Date(timeIntervalSince1970: -.infinity)).nanosecondsSinceEpoch, .min)
        XCTAssertEqual(EventTimestamp(Date(timeIntervalSince1970: .nan)).nanosecondsSinceEpoch, 0)
        XCTAssertEqual(EventTimestamp(Date(timeIntervalSince1970: 9_223_372_036.9)).nanosecondsSinceEpoch, .max)
        XCTAssertEqual(EventTimestamp(Date(timeIntervalSince1970: -9_223_372_037)).nanosecondsSinceEpoch, .min)
    }

    func testNowIsCloseToFoundationClockWhenRead() {
        let now = EventTimestamp.now()
        XCTAssertEqual(now.date.timeIntervalSince1970, Date().timeIntervalSince1970, accuracy: 5)
    }
}
