import EventBus
import EventBusPressureKit
import XCTest

/// The reference pressure levels on NATS JetStream (nats-server, file storage), checked against
/// `Thresholds/nats.json`.
final class PerformanceRegressionNATSTests: XCTestCase {
    override func setUp() async throws {
        try BrokerRequirement.require("NATS", address: BrokerRequirement.natsAddress)
        try await WarmUp.shared.ensure(PressureTarget.nats())
    }

    private func run(_ level: PressureLevel) async throws {
        let thresholds = try PerformanceThresholds.load(backend: "nats").level(level.name)
        try await assertPressureLevel(PressureWorkload(level: level), on: .nats(), thresholds: thresholds)
    }

    func testLowLevelStaysWithinThresholdsWhenRunOnNATS() async throws { try await run(.low) }
    func testMediumLevelStaysWithinThresholdsWhenRunOnNATS() async throws { try await run(.medium) }
    func testHighLevelStaysWithinThresholdsWhenRunOnNATS() async throws { try await run(.high) }
    func testExtremeLevelStaysWithinThresholdsWhenRunOnNATS() async throws { try await run(.extreme) }

    func testEveryMessageIsHandledInOrderWhenOnePercentFailOnceOnNATS() async throws {
        try await assertPressureLevel(
            PressureWorkload(level: .extreme, failOnceRate: 0.01), on: .nats(), thresholds: nil)
    }

    func testPoisonMessagesAreDeadLetteredExactlyWhenOnePerMilleAlwaysFailsOnNATS() async throws {
        try await assertPressureLevel(
            PressureWorkload(level: .extreme, alwaysFailRate: 0.001), on: .nats(), thresholds: nil)
    }
}
