import EventBus
import EventBusConformance
import EventBusKafka
import XCTest

/// A member in a child process is killed with SIGKILL mid-stream and a successor starts at once: the
/// shared ``KilledMemberScenario`` against Kafka (issue 11).
final class KafkaMemberProcessTests: XCTestCase {
    override func setUp() async throws {
        try KafkaTestBroker.requireReachable()
    }

    func testSuccessorResumesInOrderWhenMemberIsKilledMidStream() async throws {
        // The child's consumer options are KafkaTestBroker's (3 s session timeout): the dead member's
        // partitions move to the successor only once its session expired.
        let scenario = KilledMemberScenario(backend: "kafka", servers: KafkaTestBroker.address) {
            try KafkaEventBus(configuration: KafkaTestBroker.configuration(quiet: true))
        }
        let outcome = try await scenario.run()
        print("killed member (kafka): \(outcome)")
        print("duplicates: \(outcome.report.duplicates) (handled by the child after its last commit, then again)")
        print("takeover after SIGKILL: \(outcome.takeoverMilliseconds) ms")
        XCTAssertEqual(outcome.report.lost, 0, "\(outcome)")
        XCTAssertEqual(outcome.report.orderViolations, 0, "\(outcome)")
        XCTAssertEqual(outcome.report.overlaps, 0, "\(outcome)")
        XCTAssertEqual(outcome.problems, [], "\(outcome)")
    }
}
