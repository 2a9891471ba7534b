import EventBusConformance
import XCTest

final class HandlingLedgerTests: XCTestCase {
    func testReportIsCleanWhenEachKeyIsHandledOnceInOrderOneAtATime() {
        let ledger = HandlingLedger()
        for version in 1...3 {
            for key in ["a", "b"] {
                ledger.end(ledger.begin(member: version % 2, key: key, version: version), succeeded: true)
            }
        }
        let report = ledger.report(keys: ["a", "b"], versions: 3)
        XCTAssertTrue(report.keptContract, "\(report)")
        XCTAssertEqual(report.duplicates, 0)
        XCTAssertEqual(ledger.handledCount, 6)
    }

    func testReportCountsOverlapWhenTwoMembersRunOneKeyAtOnce() {
        let ledger = HandlingLedger()
        let first = ledger.begin(member: 0, key: "a", version: 1)
        let second = ledger.begin(member: 1, key: "a", version: 2)
        ledger.end(first, succeeded: true)
        ledger.end(second, succeeded: true)
        // A different key running at the same time is not an overlap.
        ledger.end(ledger.begin(member: 1, key: "b", version: 1), succeeded: true)
        let report = ledger.report(keys: ["a", "b"], versions: 2)
        XCTAssertEqual(report.overlaps, 1, "\(report)")
        XCTAssertEqual(report.lost, 1, "b v2 was never handled")
        XCTAssertFalse(report.keptContract)
    }

    func testReportCountsOrderViolationWhenANewerVersionIsFirstHandledBeforeAnOlderOne() {
        let ledger = HandlingLedger()
        for version in [1, 3, 2] {
            ledger.end(ledger.begin(member: 0, key: "a", version: version), succeeded: true)
        }
        let report = ledger.report(keys: ["a"], versions: 3)
        XCTAssertEqual(report.orderViolations, 1, "\(report)")
        XCTAssertEqual(report.lost, 0)
    }

    func testReportAllowsRedeliveryWhenANewOwnerRepeatsHandledVersionsInOrder() {
        let ledger = HandlingLedger()
        for version in 1...4 { ledger.end(ledger.begin(member: 0, key: "a", version: version), succeeded: true) }
        // The new owner resumes at the oldest unacknowledged message, 3, and goes forward.
        for version in 3...5 { ledger.end(ledger.begin(member: 1, key: "a", version: version), succeeded: true) }
        let report = ledger.report(keys: ["a"], versions: 5)
        XCTAssertTrue(report.keptContract, "\(report)")
        XCTAssertEqual(report.duplicates, 2)
    }

    func testReportCountsFailedAttemptsForOverlapButNotAsHandled() {
        let ledger = HandlingLedger()
        let failing = ledger.begin(member: 0, key: "a", version: 1)
        let other = ledger.begin(member: 1, key: "a", version: 1)
        ledger.end(other, succeeded: true)
        ledger.end(failing, succeeded: false)
        let report = ledger.report(keys: ["a"], versions: 1)
        XCTAssertEqual(report.overlaps, 1)
        XCTAssertEqual(report.lost, 0)
        XCTAssertEqual(report.duplicates, 0, "a failed attempt is not a handling")
    }
}

extension HandlingLedgerTests {
    func testFirstStartIsEarliestCallOfMemberWhenCallsInterleave() {
        let ledger = HandlingLedger()
        ledger.record(member: 1, key: "a", version: 2, start: 300, end: 400, succeeded: true)
        ledger.record(member: 0, key: "a", version: 1, start: 100, end: 200, succeeded: true)
        ledger.record(member: 1, key: "b", version: 1, start: 250, end: 260, succeeded: false)
        XCTAssertEqual(ledger.firstStart(of: 0), 100)
        XCTAssertEqual(ledger.firstStart(of: 1), 250)
        XCTAssertNil(ledger.firstStart(of: 2))
    }
}
