import EventBusPressureKit
import XCTest

final class PressureWorkloadTests: XCTestCase {
    func testAggregatesAreClampedAndVersionsFillTheLevelWhenSized() {
        XCTAssertEqual(PressureWorkload(level: .low).aggregates, 100)
        XCTAssertEqual(PressureWorkload(level: .low).versionsPerAggregate, 10)
        XCTAssertEqual(PressureWorkload(level: .extreme).aggregates, 1000)
        XCTAssertEqual(PressureWorkload(level: .custom(200)).aggregates, 50)
        XCTAssertEqual(PressureWorkload(level: .custom(200)).versionsPerAggregate, 4)
        XCTAssertEqual(PressureWorkload(level: .custom(1_000_000)).versionsPerAggregate, 1000)
        XCTAssertEqual(PressureWorkload(level: .custom(1_000_000)).totalMessages, 1_000_000)
    }

    func testInjectedFaultsMatchTheirRatesWhenCounted() {
        XCTAssertEqual(PressureWorkload(level: .extreme, alwaysFailRate: 0.001).expectedDeadLetters, 10)
        XCTAssertEqual(PressureWorkload(level: .extreme).expectedDeadLetters, 0)
    }

    func testPublishWindowIsWhatThePublishersHaveInFlightWhenMeasured() async throws {
        for level in [PressureLevel.low, .extreme] {
            let workload = PressureWorkload(level: level)
            let bus = try WindowMeasuringBus(callsToGather: workload.publisherTasks)
            let target = PressureTarget(backend: "window", makeBus: { bus })
            let report = try await PressureRunner.run(workload, on: target)
            XCTAssertEqual(report.uniqueHandled, workload.totalMessages, level.name)
            XCTAssertEqual(bus.gatheredEnvelopes, workload.publishWindow, level.name)
        }
        XCTAssertEqual(PressureWorkload(level: .extreme).publishWindow, 2_000)
        XCTAssertEqual(PressureWorkload(level: .extreme, publishBatchSize: 64).publishWindow, 1_000)
    }
}
