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

    func testCommitOffsetMatchesReferenceWhenOffsetsHaveGapsAndSettleInRandomOrder() {
        // A plain list of entries (the tracker's former representation) as the reference, over
        // offsets with gaps, completions and abandonments in random order, and tracking that
        // continues while earlier messages are settled.
        struct Reference {
            var entries: [(offset: Int64, done: Bool, abandoned: Bool)] = []
            var commitOffset: Int64?
            var inFlight = 0

            mutating func track(_ offset: Int64) {
                entries.append((offset, false, false))
                inFlight += 1
            }

            mutating func complete(_ offset: Int64) -> Bool {
                guard let index = entries.firstIndex(where: { $0.offset == offset }), !entries[index].done else {
                    return false
                }
                entries[index].done = true
                if entries[index].abandoned { entries[index].abandoned = false } else { inFlight -= 1 }
                guard index == 0 else { return false }
                while let first = entries.first, first.done {
                    commitOffset = first.offset + 1
                    entries.removeFirst()
                }
                return true
            }

            mutating func abandon(_ offset: Int64) {
                guard let index = entries.firstIndex(where: { $0.offset == offset }),
                    !entries[index].done, !entries[index].abandoned
                else { return }
                entries[index].abandoned = true
                inFlight -= 1
            }
        }
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            var tracker = ContiguousOffsetTracker()
            var reference = Reference()
            var offset = Int64.random(in: 0...1_000, using: &generator)
            var open: [Int64] = []
            for _ in 0..<Int.random(in: 1...600, using: &generator) {
                if open.isEmpty || Int.random(in: 0..<3, using: &generator) > 0 {
                    // Mostly consecutive offsets, sometimes a gap; some rounds without any.
                    if round % 4 != 0 && Int.random(in: 0..<8, using: &generator) == 0 {
                        offset += Int64.random(in: 2...70, using: &generator)
                    } else {
                        offset += 1
                    }
                    if Int.random(in: 0..<4, using: &generator) == 0 {
                        // A run of consecutive offsets at once, as a fetch's are.
                        let count = Int.random(in: 1...90, using: &generator)
                        XCTAssertEqual(tracker.track(consecutiveFrom: offset, count: count), count)
                        for next in offset..<offset + Int64(count) {
                            reference.track(next)
                            open.append(next)
                        }
                        offset += Int64(count - 1)
                    } else {
                        XCTAssertTrue(tracker.track(offset))
                        reference.track(offset)
                        open.append(offset)
                    }
                } else {
                    let settled = open.remove(at: Int.random(in: 0..<open.count, using: &generator))
                    if Int.random(in: 0..<10, using: &generator) == 0 {
                        tracker.abandon(settled)
                        reference.abandon(settled)
                        // An abandoned message may still complete later.
                        if Bool.random(using: &generator) { open.append(settled) }
                    } else {
                        XCTAssertEqual(tracker.complete(settled), reference.complete(settled), "offset \(settled)")
                        XCTAssertFalse(tracker.complete(settled), "completed twice")
                    }
                    // Offsets settled already, or never tracked, are ignored.
                    XCTAssertFalse(tracker.complete(settled + 1_000_000))
                    XCTAssertEqual(tracker.commitOffset, reference.commitOffset)
                    XCTAssertEqual(tracker.inFlight, reference.inFlight)
                }
            }
            XCTAssertFalse(tracker.track(offset), "not above the last offset")
        }
    }

    func testTrackConsecutiveRecordsOnlyOffsetsAboveEverythingSeenWhenRunOverlaps() {
        var tracker = ContiguousOffsetTracker()
        XCTAssertEqual(tracker.track(consecutiveFrom: 10, count: 5), 5)
        XCTAssertEqual(tracker.track(consecutiveFrom: 12, count: 2), 0, "12 and 13 were tracked")
        XCTAssertEqual(tracker.track(consecutiveFrom: 13, count: 4), 2, "only 15 and 16 are new")
        XCTAssertEqual(tracker.track(consecutiveFrom: 20, count: 0), 0)
        XCTAssertEqual(tracker.inFlight, 7)
        for offset in Int64(10)...16 { tracker.complete(offset) }
        XCTAssertEqual(tracker.commitOffset, 17)
        XCTAssertTrue(tracker.isDrained)
        XCTAssertEqual(tracker.track(consecutiveFrom: 100, count: 130), 130, "a gap, then a run over three bit words")
        XCTAssertFalse(tracker.complete(50), "in the gap")
        for offset in Int64(100)..<230 { tracker.complete(offset) }
        XCTAssertEqual(tracker.commitOffset, 230)
    }
}
