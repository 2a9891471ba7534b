import EventBus
import EventBusPressureKit
import XCTest

/// The reference pressure levels on Kafka (Tansu, topics with 3 partitions), checked against
/// `Thresholds/kafka.json`.
final class PerformanceRegressionKafkaTests: XCTestCase {
    override func setUp() async throws {
        try BrokerRequirement.require("Kafka", address: BrokerRequirement.kafkaAddress)
        try await WarmUp.shared.ensure(try PressureTarget.kafka())
    }

    private func run(_ level: PressureLevel) async throws {
        let thresholds = try PerformanceThresholds.load(backend: "kafka").level(level.name)
        try await assertPressureLevel(PressureWorkload(level: level), on: try .kafka(), thresholds: thresholds)
    }

    func testLowLevelStaysWithinThresholdsWhenRunOnKafka() async throws { try await run(.low) }
    func testMediumLevelStaysWithinThresholdsWhenRunOnKafka() async throws { try await run(.medium) }
    func testHighLevelStaysWithinThresholdsWhenRunOnKafka() async throws { try await run(.high) }
    func testExtremeLevelStaysWithinThresholdsWhenRunOnKafka() async throws { try await run(.extreme) }

    func testEveryMessageIsHandledInOrderWhenOnePercentFailOnceOnKafka() async throws {
        try await assertPressureLevel(
            PressureWorkload(level: .extreme, failOnceRate: 0.01), on: try .kafka(), thresholds: nil)
    }

    func testPoisonMessagesAreDeadLetteredExactlyWhenOnePerMilleAlwaysFailsOnKafka() async throws {
        try await assertPressureLevel(
            PressureWorkload(level: .extreme, alwaysFailRate: 0.001), on: try .kafka(), thresholds: nil)
    }
}
