import EventBus
import XCTest

final class MessageHeaderTests: XCTestCase {
    func testLookupReturnsFirstValueWhenNameRepeats() {
        let headers = [MessageHeader(name: "a", value: "1"), MessageHeader(name: "a", value: "2")]
        XCTAssertEqual(headers[header: "a"], "1")
        XCTAssertNil(headers[header: "b"])
    }
}
