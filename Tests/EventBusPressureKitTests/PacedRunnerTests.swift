import EventBus
import EventBusPressureKit
import XCTest

final class PacedRunnerTests: XCTestCase {
    /// 2,000 messages offered at 2,000 a second: all handled in order, and the offering takes the
    /// planned second (the last message is due at 0.9995 s), where a burst would take milliseconds.
    func testOffersAtThePlannedRateAndHandlesEverythingInOrder() async throws {
        let report = try await PacedRunner.run(
            PacedRunner.Plan(rate: 2000, duration: .seconds(1)), on: .memory())
        XCTAssertEqual(report.published, 2000)
        XCTAssertEqual(report.handled, 2000)
        XCTAssertTrue(report.completed)
        XCTAssertEqual(report.orderViolations, 0)
        XCTAssertEqual(report.duplicates, 0)
        XCTAssertGreaterThanOrEqual(report.offeredSeconds, 0.99)
        XCTAssertLessThan(report.offeredSeconds, 30, "generous guard: the offering should end soon after its plan")
        XCTAssertGreaterThan(report.latencyMaxMilliseconds, 0)
        XCTAssertLessThanOrEqual(report.latencyP50Milliseconds, report.latencyP99Milliseconds)
        XCTAssertLessThanOrEqual(report.latencyP99Milliseconds, report.latencyMaxMilliseconds)
    }

    /// Several publishing tasks a topic share its aggregates: every message still handled once and
    /// in order, whether the tasks split the aggregates unevenly (7 tasks for 40 aggregates a topic)
    /// or outnumber them (60, so some own none and end at once).
    func testSeveralPublishersATopicKeepEveryAggregateInOrder() async throws {
        for publishers in [7, 60] {
            var plan = PacedRunner.Plan(rate: 2000, duration: .seconds(1))
            plan.publishersPerTopic = publishers
            let report = try await PacedRunner.run(plan, on: .memory())
            XCTAssertEqual(report.client, "eventbus-p\(publishers)")
            XCTAssertEqual(report.published, 2000)
            XCTAssertEqual(report.handled, 2000, "publishers: \(publishers)")
            XCTAssertTrue(report.completed)
            XCTAssertEqual(report.orderViolations, 0, "publishers: \(publishers)")
            XCTAssertEqual(report.duplicates, 0, "publishers: \(publishers)")
            XCTAssertGreaterThanOrEqual(report.offeredSeconds, 0.99)
        }
    }

    func testRefusesANonPositiveRateDurationOrPublisherCount() async {
        for plan in [
            PacedRunner.Plan(rate: 0, duration: .seconds(1)), PacedRunner.Plan(rate: 100, duration: .zero),
            {
                var plan = PacedRunner.Plan(rate: 100, duration: .seconds(1))
                plan.publishersPerTopic = 0
                return plan
            }(),
        ] {
            do {
                _ = try await PacedRunner.run(plan, on: .memory())
                XCTFail("\(plan) should be refused")
            } catch let error as EventBusError {
                XCTAssertEqual(error.code, .invalidArgument)
            } catch {
                XCTFail("unexpected \(error)")
            }
        }
    }
}
