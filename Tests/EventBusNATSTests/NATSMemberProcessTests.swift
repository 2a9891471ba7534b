import EventBus
import EventBusConformance
import EventBusNATS
import XCTest

/// A member in a child process is killed with SIGKILL mid-stream and a successor starts at once: the
/// shared ``KilledMemberScenario`` against NATS JetStream (issue 11).
final class NATSMemberProcessTests: XCTestCase {
    func testSuccessorResumesInOrderWhenMemberIsKilledMidStream() async throws {
        let url = try NATSTestEnvironment.requireBroker()
        // The child configures its bus as NATSTestEnvironment.configuration does (same stream).
        let scenario = KilledMemberScenario(backend: "nats", servers: url) {
            try await NATSEventBus.connect(NATSTestEnvironment.configuration(url: url))
        }
        let outcome = try await scenario.run()
        print("killed member (nats): \(outcome)")
        print("duplicates: \(outcome.report.duplicates) (handled by the child but not acknowledged, then again)")
        print("takeover after SIGKILL: \(outcome.takeoverMilliseconds) ms")
        XCTAssertEqual(outcome.report.lost, 0, "\(outcome)")
        XCTAssertEqual(outcome.report.orderViolations, 0, "\(outcome)")
        XCTAssertEqual(outcome.report.overlaps, 0, "\(outcome)")
        XCTAssertEqual(outcome.problems, [], "\(outcome)")
    }
}
