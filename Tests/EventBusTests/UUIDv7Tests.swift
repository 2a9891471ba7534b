import EventBus
import XCTest

final class UUIDv7Tests: XCTestCase {
    /// The 48-bit Unix millisecond timestamp at the front of a UUIDv7.
    private func milliseconds(_ uuid: String) -> UInt64? {
        UInt64(uuid.prefix(8) + uuid.dropFirst(9).prefix(4), radix: 16)
    }

    func testHasCanonicalFormWhenGenerated() {
        for _ in 0..<1_000 {
            let uuid = UUIDv7.generate()
            let characters = Array(uuid)
            XCTAssertEqual(characters.count, 36, uuid)
            for (index, character) in characters.enumerated() {
                if [8, 13, 18, 23].contains(index) {
                    XCTAssertEqual(character, "-", uuid)
                } else {
                    XCTAssertTrue("0123456789abcdef".contains(character), uuid)
                }
            }
            XCTAssertEqual(characters[14], "7", "version nibble: \(uuid)")
            XCTAssertTrue("89ab".contains(characters[19]), "variant bits 10: \(uuid)")
        }
    }

    func testEmbedsCurrentMillisecondsWhenGenerated() throws {
        let before = UInt64(EventTimestamp.now().nanosecondsSinceEpoch / 1_000_000)
        let millis = try XCTUnwrap(milliseconds(UUIDv7.generate()))
        let after = UInt64(EventTimestamp.now().nanosecondsSinceEpoch / 1_000_000)
        XCTAssertGreaterThanOrEqual(millis, before)
        XCTAssertLessThanOrEqual(millis, after + 1)
    }

    func testSortsByCreationWhenGeneratedInSequence() {
        var previous = UUIDv7.generate()
        var seen: Set<String> = [previous]
        for _ in 0..<20_000 {
            let next = UUIDv7.generate()
            XCTAssertLessThan(previous, next)
            seen.insert(next)
            previous = next
        }
        XCTAssertEqual(seen.count, 20_001)
    }

    func testOrdersByTimeWhenGeneratedInLaterMillisecond() throws {
        let first = UUIDv7.generate()
        let firstMillis = try XCTUnwrap(milliseconds(first))
        // Wait on the clock (a condition with a deadline), not a fixed sleep.
        let deadline = ContinuousClock.now + .seconds(5)
        while UInt64(EventTimestamp.now().nanosecondsSinceEpoch / 1_000_000) <= firstMillis + 1 {
            XCTAssertLessThan(ContinuousClock.now, deadline)
            if ContinuousClock.now >= deadline { return }
        }
        let second = UUIDv7.generate()
        XCTAssertGreaterThan(try XCTUnwrap(milliseconds(second)), firstMillis)
        XCTAssertLessThan(first, second)
    }

    func testStaysUniqueWhenGeneratedConcurrently() async {
        let batches = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<5_000).map { _ in UUIDv7.generate() } }
            }
            var all: [[String]] = []
            for await batch in group { all.append(batch) }
            return all
        }
        for batch in batches { XCTAssertEqual(batch, batch.sorted()) }
        XCTAssertEqual(Set(batches.joined()).count, 20_000)
    }
}
