import EventBus
import EventBusPressureKit
import Foundation
import XCTest

final class PressureMembersTests: XCTestCase {
    func testEveryMessageIsHandledOnceInOrderWhenTwoMembersShareEachGroup() async throws {
        let workload = PressureWorkload(level: .custom(2_000), members: 2)
        let report = try await PressureRunner.run(workload, on: .memory())
        XCTAssertEqual(report.members, 2)
        XCTAssertTrue(report.completed, "not every message arrived before the timeout")
        XCTAssertEqual(report.uniqueHandled, workload.totalMessages, "every message handled")
        XCTAssertEqual(report.duplicates, 0, "no message handled twice")
        XCTAssertEqual(report.orderViolations, 0, "order per aggregate across both members")
        XCTAssertEqual(report.handledPerMember.count, 2)
        XCTAssertEqual(report.handledPerMember.reduce(0, +), workload.totalMessages)
        XCTAssertTrue(
            report.handledPerMember.allSatisfy { $0 > 0 },
            "both members took a share of the partitions: \(report.handledPerMember)")
        XCTAssertTrue(PressureTable.header.contains("members"), "the table says which shape it measured")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        XCTAssertEqual(json?["members"] as? Int, 2, "so does the JSON")
    }

    func testTheRunIsRefusedWhenTheMemberCountIsOutOfRange() async throws {
        var threePartitions = PressureTarget.memory()
        threePartitions.maxMembers = 3
        for (members, target) in [(0, PressureTarget.memory()), (17, .memory()), (4, threePartitions)] {
            do {
                _ = try await PressureRunner.run(PressureWorkload(level: .low, members: members), on: target)
                XCTFail("members \(members) was accepted with at most \(target.maxMembers)")
            } catch let error as EventBusError {
                XCTAssertEqual(error.code, .invalidArgument)
                XCTAssertEqual(error.field, "members")
            }
        }
    }
}
