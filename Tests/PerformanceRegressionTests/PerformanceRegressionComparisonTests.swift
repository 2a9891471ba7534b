import EventBus
import EventBusPressureKit
import XCTest

/// Kafka against NATS JetStream on the four reference levels in one run: the side-by-side table the
/// reference report printed, with averages and which backend wins each metric.
final class PerformanceRegressionComparisonTests: XCTestCase {
    override func setUp() async throws {
        try BrokerRequirement.require("Kafka", address: BrokerRequirement.kafkaAddress)
        try BrokerRequirement.require("NATS", address: BrokerRequirement.natsAddress)
        try await WarmUp.shared.ensure(try PressureTarget.kafka())
        try await WarmUp.shared.ensure(PressureTarget.nats())
    }

    func testKafkaAndNATSDeliverEveryLevelWhenComparedSideBySide() async throws {
        var kafka: [PressureReport] = []
        var nats: [PressureReport] = []
        for level in PressureLevel.reference {
            kafka.append(
                try await assertPressureLevel(PressureWorkload(level: level), on: try .kafka(), thresholds: nil))
            nats.append(try await assertPressureLevel(PressureWorkload(level: level), on: .nats(), thresholds: nil))
        }
        let comparison = PressureComparison(first: kafka, second: nats)
        print(comparison.render())
        XCTAssertEqual(comparison.winners.count, 8, "every metric, CPU per message included, has a verdict")
    }
}
