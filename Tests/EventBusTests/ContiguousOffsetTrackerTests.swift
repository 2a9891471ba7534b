import EventBus
import XCTest

final class ContiguousOffsetTrackerTests: XCTestCase {
    func testCommitOffsetStaysNilWhenNothingCompleted() {
        var tracker = ContiguousOffsetTracker()
        tracker.track(10)
        tracker.track(11)
        XCTAssertNil(tracker.commitOffset)
        XCTAssertEqual(tracker.inFlight, 2)
    }

    func testCommitOffsetAdvancesPastCompletedPrefixWhenCompletedInOrder() {
        var tracker = ContiguousOffsetTracker()
        for offset in Int64(0)..<5 { tracker.track(offset) }
        XCTAssertTrue(tracker.complete(0))
        XCTAssertEqual(tracker.commitOffset, 1)
        XCTAssertTrue(tracker.complete(1))
        XCTAssertEqual(tracker.commitOffset, 2)
        XCTAssertEqual(tracker.inFlight, 3)
    }

    func testCommitOffsetWaitsForOldestWhenLaterOnesCompleteFirst() {
        var tracker = ContiguousOffsetTracker()
        for offset in Int64(100)..<105 { tracker.track(offset) }
        XCTAssertFalse(tracker.complete(103))
        XCTAssertFalse(tracker.complete(101))
        XCTAssertNil(tracker.commitOffset)
        XCTAssertTrue(tracker.complete(100))
        XCTAssertEqual(tracker.commitOffset, 102, "100 and 101 are done, 102 is not")
        XCTAssertTrue(tracker.complete(102))
        XCTAssertEqual(tracker.commitOffset, 104, "103 was already done")
        XCTAssertTrue(tracker.complete(104))
        XCTAssertEqual(tracker.commitOffset, 105)
        XCTAssertTrue(tracker.isDrained)
    }

    func testCommitOffsetFollowsReceivedOffsetsWhenPartitionHasGaps() {
        var tracker = ContiguousOffsetTracker()
        for offset: Int64 in [3, 7, 8, 20] { tracker.track(offset) }
        tracker.complete(7)
        tracker.complete(3)
        XCTAssertEqual(tracker.commitOffset, 8, "3 and 7 are done; 8 is not")
    }

    func testCompleteIsIgnoredWhenOffsetUnknownOrAlreadyCompleted() {
        var tracker = ContiguousOffsetTracker()
        tracker.track(1)
        tracker.track(2)
        XCTAssertFalse(tracker.complete(5))
        XCTAssertTrue(tracker.complete(1))
        XCTAssertFalse(tracker.complete(1))
        XCTAssertEqual(tracker.inFlight, 1)
        XCTAssertEqual(tracker.commitOffset, 2)
    }

    func testTrackRejectsOffsetWhenNotAboveEverythingSeen() {
        var tracker = ContiguousOffsetTracker()
        XCTAssertTrue(tracker.track(10))
        XCTAssertFalse(tracker.track(10))
        XCTAssertFalse(tracker.track(9))
        tracker.complete(10)
        XCTAssertFalse(tracker.track(5), "behind the commit position")
        XCTAssertTrue(tracker.track(11))
        XCTAssertEqual(tracker.inFlight, 1)
    }

    func testCommitOffsetCoversEverythingWhenManyCompleteInRandomOrder() {
        var tracker = ContiguousOffsetTracker()
        let offsets = Array(Int64(0)..<10_000)
        for offset in offsets { tracker.track(offset) }
        var generator = SystemRandomNumberGenerator()
        for offset in offsets.shuffled(using: &generator) { tracker.complete(offset) }
        XCTAssertEqual(tracker.commitOffset, 10_000)
        XCTAssertTrue(tracker.isDrained)
    }

    func testCommitOffsetStopsAtAbandonedOffsetWhenLaterOnesComplete() {
        var tracker = ContiguousOffsetTracker()
        for offset in Int64(0)..<4 { tracker.track(offset) }
        XCTAssertTrue(tracker.complete(0))
        tracker.abandon(1)
        XCTAssertFalse(tracker.complete(2))
        XCTAssertEqual(tracker.inFlight, 1, "only 3 is still in flight")
        XCTAssertFalse(tracker.isDrained)
        tracker.abandon(3)
        XCTAssertTrue(tracker.isDrained, "abandoned messages are no longer in flight")
        XCTAssertEqual(tracker.commitOffset, 1, "the commit offset never passes the abandoned 1")
    }
}
