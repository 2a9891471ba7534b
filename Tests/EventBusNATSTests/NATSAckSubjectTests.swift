import EventBusNATS
import XCTest

final class NATSAckSubjectTests: XCTestCase {
    /// The byte-by-byte reading `NATSAckSubject` replaced (2026-11-30), kept as the reference.
    private static func reference(_ subject: String) -> (sequence: Int64, delivered: Int, consumerSequence: Int64) {
        let bytes = Array(subject.utf8)
        let tokens = bytes.filter { $0 == UInt8(ascii: ".") }.count + 1
        let deliveredToken = tokens >= 11 ? 6 : 4
        var delivered: Int64 = 0
        var sequence: Int64 = 0
        var consumerSequence: Int64 = 0
        var token = 0
        var index = 0
        while index < bytes.count && token <= deliveredToken + 2 {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                token += 1
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                let digit = Int64(byte - UInt8(ascii: "0"))
                if token == deliveredToken { delivered = delivered &* 10 &+ digit }
                if token == deliveredToken + 1 { sequence = sequence &* 10 &+ digit }
                if token == deliveredToken + 2 { consumerSequence = consumerSequence &* 10 &+ digit }
            }
            index += 1
        }
        return (sequence, max(1, Int(delivered)), consumerSequence)
    }

    private static func position(_ subject: String) -> (sequence: Int64, delivered: Int, consumerSequence: Int64) {
        subject.withCString { NATSAckSubject.position($0) }
    }

    func testPositionReadsBothFormsWhenSubjectIsWellFormed() {
        let original = "$JS.ACK.EVENTBUS_ORDERS.orders-group-p0.3.41234.17.1764500000123456789.12"
        XCTAssertTrue(Self.position(original) == (41234, 3, 17))
        let domain = "$JS.ACK.hub.ACCHASH123.EVENTBUS_ORDERS.orders-group-p0.1.7.1.1764500000123456789.0"
        XCTAssertTrue(Self.position(domain) == (7, 1, 1))
        XCTAssertTrue(Self.position(domain + ".xyz") == (7, 1, 1))
    }

    func testPositionGivesNoneWhenSubjectIsMissingOrShort() {
        XCTAssertTrue(NATSAckSubject.position(nil) == (0, 1, 0))
        for subject in ["", "$JS.ACK", "$JS.ACK.S.C", "a.b.c.d", "........", "$JS.ACK.S.C.0.0.0"] {
            XCTAssertTrue(Self.position(subject) == Self.reference(subject), "'\(subject)'")
        }
    }

    func testPositionMatchesByteByByteReadingWhenSubjectIsAnything() {
        // Every length around the 8-byte steps, dots anywhere (runs of them, at either end), digits
        // and other bytes in the numeric tokens, names of every length.
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("..0123456789abcXYZ-_$".utf8)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...140, using: &generator)
            let subject = String(
                decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
            XCTAssertTrue(Self.position(subject) == Self.reference(subject), "'\(subject)'")
        }
        for stream in ["S", "EVENTBUS_PRESSURE_0123456789AB", String(repeating: "N", count: 77)] {
            for consumer in ["c", "pressure-0123456789ab-p3", String(repeating: "c", count: 33)] {
                for tail in ["", ".hub.HASH", ".x"] {
                    let subject = "$JS.ACK\(tail).\(stream).\(consumer).12.345678.9012.1764500000123456789.3"
                    XCTAssertTrue(Self.position(subject) == Self.reference(subject), "'\(subject)'")
                }
            }
        }
    }
}
