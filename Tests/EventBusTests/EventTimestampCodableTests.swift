import EventBus
import XCTest

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `EventTimestamp` in typed events: the JSON Go's `time.Time` writes and reads.
final class EventTimestampCodableTests: XCTestCase {
    struct Stamped: Codable, Equatable {
        var at: EventTimestamp
    }

    func testEncodesGoRFC3339NanoWhenUsedInCodableEvent() throws {
        let value = Stamped(at: EventTimestamp(nanosecondsSinceEpoch: 1_764_417_600_123_456_780))
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        XCTAssertEqual(json, #"{"at":"2025-11-29T12:00:00.12345678Z"}"#)
        XCTAssertEqual(try JSONDecoder().decode(Stamped.self, from: Data(json.utf8)), value)
    }

    func testDecodesOffsetsAndTruncatesPastNanosecondsWhenGoWroteThem() throws {
        let json = #"{"at":"2025-11-29T13:00:00.1234567891+01:00"}"#
        let decoded = try JSONDecoder().decode(Stamped.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.at.nanosecondsSinceEpoch, 1_764_417_600_123_456_789)
    }

    func testThrowsDataCorruptedWhenTextIsNotRFC3339() {
        for json in [#"{"at":"yesterday"}"#, #"{"at":12.5}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(Stamped.self, from: Data(json.utf8)), json) { error in
                guard case DecodingError.dataCorrupted = error else {
                    if case DecodingError.typeMismatch = error, json.contains("12.5") { return }
                    return XCTFail("\(json): \(error)")
                }
            }
        }
    }
}
