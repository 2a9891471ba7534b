import EventBus
import XCTest

final class PlaceholderTests: XCTestCase {
    func testHeaderLookupFindsFirstMatchWhenRepeated() {
        let h = [MessageHeader(name: "a", value: "1"), MessageHeader(name: "a", value: "2")]
        XCTAssertEqual(h[header: "a"], "1")
        XCTAssertNil(h[header: "b"])
    }
}
