import EventBusPressureKit
import Foundation
import Histogram

/// Runs raw nats.c and `NATSEventBus` through the same pressure level, alternating, and prints
/// throughput and latency percentiles of both.
///
/// The raw side keeps the workload's publish window in flight (`PressureWorkload.publishWindow`)
/// and timestamps each message just before its own publish call, which favours it slightly: the
/// bus's messages are stamped when their whole publish call is built.
func compareEndToEnd(
    url: String, level: PressureLevel, publishBatch: Int, rounds: Int, batch: Int, rawOnly: Bool, run: String
) async throws {
    let workload = PressureWorkload(level: level, publishBatchSize: publishBatch)
    let raw = try RawNATSClient(url: url)
    print(
        "end to end at the \(level.name) level: \(workload.totalMessages) messages over \(workload.topics) subjects, "
            + "\(workload.publishWindow) in flight, raw fetch batch \(batch); \(rounds) round(s)")
    var rawRows: [(rate: Double, p50: Double, p99: Double)] = []
    var busRows: [(rate: Double, p50: Double, p99: Double)] = []
    for round in 1...rounds {
        let stream = "E2ERAW\(run)R\(round)"
        let subjects = (0..<workload.topics).map { "e2eraw\(run)r\(round).t\($0)" }
        try raw.addStream(name: stream, subjects: subjects)
        let result = try raw.endToEnd(
            stream: stream, subjects: subjects, count: workload.totalMessages, payloadSize: 256,
            window: workload.publishWindow, batch: batch)
        raw.deleteStream(name: stream)
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        for latency in result.latencies { histogram.record(latency) }
        rawRows.append(
            (
                Double(result.latencies.count) / result.seconds, Double(histogram.valueAtPercentile(50)) / 1e6,
                Double(histogram.valueAtPercentile(99)) / 1e6
            ))

        if rawOnly {
            print(
                String(
                    format: "round %d: raw %.0f msg/s p50 %.1f ms p99 %.1f ms", round, rawRows.last!.rate,
                    rawRows.last!.p50, rawRows.last!.p99))
            continue
        }
        let report = try await PressureRunner.run(workload, on: .nats())
        busRows.append((report.throughput, report.latencyP50Milliseconds, report.latencyP99Milliseconds))
        print(
            String(
                format:
                    "round %d: raw %.0f msg/s p50 %.1f ms p99 %.1f ms; NATSEventBus %.0f msg/s p50 %.1f ms p99 %.1f ms",
                round, rawRows.last!.rate, rawRows.last!.p50, rawRows.last!.p99, busRows.last!.rate,
                busRows.last!.p50, busRows.last!.p99))
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    for (name, rows) in [("raw nats.c  ", rawRows), ("NATSEventBus", busRows)] where !rows.isEmpty {
        print(
            String(
                format: "%@  median %9.0f msg/s   p50 %6.1f ms   p99 %6.1f ms", name, median(rows.map(\.rate)),
                median(rows.map(\.p50)), median(rows.map(\.p99))))
    }
}
