import EventBusPressureKit
import Foundation
import XCTest

final class PressureComparisonTests: XCTestCase {
    private func report(
        _ backend: String, _ level: String, throughput: Double, p99: Double, cpu: Double = 20
    ) throws -> PressureReport {
        let fields: [String: Any] = [
            "backend": backend, "level": level, "members": 1, "handledPerMember": [1000], "published": 1000,
            "uniqueHandled": 1000, "duplicates": 0,
            "deadLettered": 0, "expectedDeadLetters": 0, "orderViolations": 0, "durationSeconds": 1.0,
            "throughput": throughput, "latencyP50Milliseconds": p99 / 2, "latencyP99Milliseconds": p99,
            "latencyP999Milliseconds": p99, "latencyMaxMilliseconds": p99, "subscribeSeconds": 0.1,
            "memoryIncrementMB": 1.0, "peakIncrementMB": 2.0, "threadsBefore": 4, "threadsAfter": 4,
            "fileDescriptorsBefore": 9, "fileDescriptorsAfter": 9, "leakedTasks": 0, "completed": true,
            "cpuMicrosecondsPerMessage": cpu,
        ]
        return try JSONDecoder().decode(PressureReport.self, from: JSONSerialization.data(withJSONObject: fields))
    }

    func testWinnersFollowEachMetricsDirectionWhenBackendsDiffer() throws {
        let comparison = PressureComparison(
            first: [
                try report("kafka", "low", throughput: 100, p99: 5, cpu: 10),
                try report("kafka", "high", throughput: 300, p99: 9, cpu: 30),
            ],
            second: [
                try report("nats", "low", throughput: 150, p99: 2, cpu: 12),
                try report("nats", "high", throughput: 100, p99: 3, cpu: 18),
            ]
        )
        XCTAssertEqual(comparison.winners["throughput msg/s"], "kafka", "average 200 beats 125")
        XCTAssertEqual(comparison.winners["latency p99 ms"], "nats", "lower latency wins")
        XCTAssertEqual(comparison.winners["cpu us/msg"], "nats", "average 15 beats 20: less CPU wins")
        XCTAssertEqual(comparison.winners["success %"], "tie")
        let table = comparison.render()
        XCTAssertTrue(table.contains("level low (1000 messages)"))
        XCTAssertTrue(table.contains("averages over 2 levels"))
    }
}
