import EventBus
import EventBusPressureKit
import XCTest

/// The reference pressure levels on the in-memory bus, checked against `Thresholds/memory.json`.
final class PerformanceRegressionMemoryTests: XCTestCase {
    private static let target = PressureTarget.memory()

    override func setUp() async throws {
        try await WarmUp.shared.ensure(Self.target)
    }

    private func run(_ level: PressureLevel) async throws {
        let thresholds = try PerformanceThresholds.load(backend: "memory").level(level.name)
        try await assertPressureLevel(PressureWorkload(level: level), on: Self.target, thresholds: thresholds)
    }

    func testLowLevelStaysWithinThresholdsWhenRunInMemory() async throws { try await run(.low) }
    func testMediumLevelStaysWithinThresholdsWhenRunInMemory() async throws { try await run(.medium) }
    func testHighLevelStaysWithinThresholdsWhenRunInMemory() async throws { try await run(.high) }
    func testExtremeLevelStaysWithinThresholdsWhenRunInMemory() async throws { try await run(.extreme) }

    func testEveryMessageIsHandledInOrderWhenOnePercentFailOnce() async throws {
        let workload = PressureWorkload(level: .extreme, failOnceRate: 0.01)
        try await assertPressureLevel(workload, on: Self.target, thresholds: nil)
    }

    func testPoisonMessagesAreDeadLetteredExactlyWhenOnePerMilleAlwaysFails() async throws {
        let workload = PressureWorkload(level: .extreme, alwaysFailRate: 0.001)
        XCTAssertEqual(workload.expectedDeadLetters, 10)
        try await assertPressureLevel(workload, on: Self.target, thresholds: nil)
    }
}
