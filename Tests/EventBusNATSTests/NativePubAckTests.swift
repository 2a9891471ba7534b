import EventBusNATS
import XCTest

/// The PubAck reader on the replies nats-server sends, and on what it must not take for an ack.
final class NativePubAckTests: XCTestCase {
    func testReadsAStoredMessageWhenTheReplyIsAPlainPubAck() {
        XCTAssertEqual(NativePubAck.parse(#"{"stream":"EVENTS","seq":42}"#), .stored(sequence: 42, duplicate: false))
        XCTAssertEqual(
            NativePubAck.parse(#" { "stream" : "EVENTS" , "domain":"hub", "seq" : 18446744073709551615 } "#),
            .stored(sequence: UInt64.max, duplicate: false))
    }

    func testReadsADuplicateWhenTheReplyIsMarkedDuplicate() {
        XCTAssertEqual(
            NativePubAck.parse(#"{"stream":"EVENTS","seq":7,"duplicate":true}"#), .stored(sequence: 7, duplicate: true))
        XCTAssertEqual(
            NativePubAck.parse(#"{"stream":"EVENTS","seq":7,"duplicate":false}"#),
            .stored(sequence: 7, duplicate: false))
    }

    func testReadsTheServersCodesWhenTheReplyIsAnError() {
        XCTAssertEqual(
            NativePubAck.parse(
                #"{"error":{"code":400,"err_code":10060,"description":"expected stream does not match \"X\""}}"#),
            .rejected(code: 400, errorCode: 10060, description: #"expected stream does not match "X""#))
        XCTAssertEqual(
            NativePubAck.parse(#"{"error":{"code":503,"description":"no suitable peers","extra":[1,{"a":null}]}}"#),
            .rejected(code: 503, errorCode: 0, description: "no suitable peers"))
    }

    func testRefusesTheReplyWhenItIsNotAPubAck() {
        for garbage in [
            "", "{", "{}", "null", #"{"stream":"EVENTS"}"#, #"{"seq":1}"#, #"{"stream":"","seq":1}"#,
            #"{"stream":"EVENTS","seq":-1}"#, #"{"stream":"EVENTS","seq":1"#, #"{"stream":"EVENTS","seq":1}x"#,
            #"{"stream":"EVENTS","seq":99999999999999999999}"#, #"{"stream":"EVENTS","seq":1,"duplicate":"yes"}"#,
            #"{"stream":"EVENTS\"#, "+OK", #"{"error":"text"}"#,
        ] {
            XCTAssertEqual(NativePubAck.parse(garbage), .unreadable, garbage)
        }
    }

    func testFindsTheCounterWhenTheReplySubjectEndsInOne() {
        XCTAssertEqual(nativeReplyNumber("_INBOX.abcDEF123.42"), 42)
        XCTAssertEqual(nativeReplyNumber("_INBOX.abc.18446744073709551615"), UInt64.max)
        XCTAssertNil(nativeReplyNumber("_INBOX.abc.4x2"))
        XCTAssertNil(nativeReplyNumber("_INBOX.abc."))
        XCTAssertNil(nativeReplyNumber("_INBOX.abc.123456789012345678901"))
    }
}
