import EventBus
import EventBusPressureKit
import XCTest

/// Runs one pressure level, prints its row, and asserts the outcome and the committed thresholds.
@discardableResult
func assertPressureLevel(
    _ workload: PressureWorkload,
    on target: PressureTarget,
    thresholds: PerformanceThresholds.Level?,
    file: StaticString = #filePath,
    line: UInt = #line
) async throws -> PressureReport {
    let report = try await PressureRunner.run(workload, on: target)
    print(PressureTable.header)
    print(PressureTable.row(report))
    XCTAssertTrue(report.completed, "not every message arrived before the timeout", file: file, line: line)
    XCTAssertEqual(report.successRate, 100, "success rate", file: file, line: line)
    XCTAssertEqual(report.orderViolations, 0, "order violations", file: file, line: line)
    XCTAssertEqual(report.duplicates, 0, "duplicates without injected faults", file: file, line: line)
    XCTAssertEqual(report.deadLettered, report.expectedDeadLetters, "dead letters", file: file, line: line)
    XCTAssertEqual(report.leakedThreads, 0, "leaked threads", file: file, line: line)
    XCTAssertEqual(report.leakedFileDescriptors, 0, "leaked file descriptors", file: file, line: line)
    XCTAssertEqual(report.leakedTasks, 0, "handlers still running after shutdown", file: file, line: line)
    if let thresholds {
        XCTAssertGreaterThanOrEqual(
            report.throughput, thresholds.minThroughput, "throughput msg/s", file: file, line: line)
        XCTAssertLessThanOrEqual(
            report.latencyP99Milliseconds, thresholds.maxP99Milliseconds, "p99 ms", file: file, line: line)
        XCTAssertLessThanOrEqual(
            report.memoryIncrementMB,
            thresholds.maxMemoryIncrementMB,
            "memory increment MB",
            file: file,
            line: line
        )
        XCTAssertLessThanOrEqual(
            report.cpuMicrosecondsPerMessage, thresholds.maxCpuMicrosecondsPerMessage, "CPU µs per message",
            file: file, line: line)
    }
    return report
}
