import EventBusKafka
import XCTest

final class ContiguousOffsetTrackerTests: XCTestCase {
    func testCommitOffsetStaysNilWhenNothingCompleted() {
        var tracker = ContiguousOffsetTracker()
        tracker.track(10)
        tracker.track(11)
        XCTAssertNil(tracker.commitOffset)
        XCTAssertEqual(tracker.inFlight, 2)
    }
}
