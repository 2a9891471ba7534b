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
    var rawRows: [EndToEndRow] = []
    var busRows: [EndToEndRow] = []
    for round in 1...rounds {
        let stream = "E2ERAW\(run)R\(round)"
        let subjects = (0..<workload.topics).map { "e2eraw\(run)r\(round).t\($0)" }
        try raw.addStream(name: stream, subjects: subjects)
        let cpuBefore = ProcessResources.cpuSeconds()
        let result = try raw.endToEnd(
            stream: stream, subjects: subjects, count: workload.totalMessages, payloadSize: 256,
            window: workload.publishWindow, batch: batch)
        let rawCPU = (ProcessResources.cpuSeconds() - cpuBefore) * 1e6 / Double(workload.totalMessages)
        raw.deleteStream(name: stream)
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        for latency in result.latencies { histogram.record(latency) }
        rawRows.append(
            EndToEndRow(
                rate: Double(result.latencies.count) / result.seconds,
                p50: Double(histogram.valueAtPercentile(50)) / 1e6, p99: Double(histogram.valueAtPercentile(99)) / 1e6,
                cpu: rawCPU))

        if rawOnly {
            print("round \(round): raw \(rawRows.last!)")
            continue
        }
        let report = try await PressureRunner.run(workload, on: .nats())
        busRows.append(
            EndToEndRow(
                rate: report.throughput, p50: report.latencyP50Milliseconds, p99: report.latencyP99Milliseconds,
                cpu: report.cpuMicrosecondsPerMessage))
        print("round \(round): raw \(rawRows.last!); NATSEventBus \(busRows.last!)")
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    for (name, rows) in [("raw nats.c  ", rawRows), ("NATSEventBus", busRows)] where !rows.isEmpty {
        let medians = EndToEndRow(
            rate: median(rows.map(\.rate)), p50: median(rows.map(\.p50)), p99: median(rows.map(\.p99)),
            cpu: median(rows.map(\.cpu)))
        print("\(name)  medians: \(medians)")
    }
}
