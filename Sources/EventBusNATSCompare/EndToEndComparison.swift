import EventBusPressureKit
import Foundation
import Histogram

/// Runs raw nats.c and `NATSEventBus` through the same pressure level, alternating, and prints
/// throughput and latency percentiles of both.
///
/// The raw side keeps the workload's publish window in flight (`PressureWorkload.publishWindow`)
/// and timestamps each message just before its own publish call, which favours it slightly: the
/// bus's messages are stamped when their whole publish call is built.
///
/// With `envelopes` each round runs raw nats.c a second time with jxt-core envelopes as payloads
/// (see `RawNATSClient.endToEnd`), so the cost of the envelope JSON, which the bus must pay and
/// plain raw does not, is measured in the same run.
func compareEndToEnd(
    url: String, level: PressureLevel, publishBatch: Int, rounds: Int, batch: Int, rawOnly: Bool, envelopes: Bool,
    run: String
) async throws {
    let workload = PressureWorkload(level: level, publishBatchSize: publishBatch)
    let raw = try RawNATSClient(url: url)
    print(
        "end to end at the \(level.name) level: \(workload.totalMessages) messages over \(workload.topics) subjects, "
            + "\(workload.publishWindow) in flight, raw fetch batch \(batch); \(rounds) round(s)")
    var rawRows: [EndToEndRow] = []
    var envelopeRows: [EndToEndRow] = []
    var busRows: [EndToEndRow] = []
    func runRaw(round: Int, envelopes: Bool) throws -> EndToEndRow {
        let stream = "E2ERAW\(run)R\(round)\(envelopes ? "E" : "")"
        let subjects = (0..<workload.topics).map { "e2eraw\(run)r\(round)\(envelopes ? "e" : "").t\($0)" }
        try raw.addStream(name: stream, subjects: subjects)
        let cpuBefore = ProcessResources.cpuSeconds()
        let result = try raw.endToEnd(
            stream: stream, subjects: subjects, count: workload.totalMessages, payloadSize: 256,
            window: workload.publishWindow, batch: batch, envelopes: envelopes)
        let rawCPU = (ProcessResources.cpuSeconds() - cpuBefore) * 1e6 / Double(workload.totalMessages)
        raw.deleteStream(name: stream)
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        for latency in result.latencies { histogram.record(latency) }
        return EndToEndRow(
            rate: Double(result.latencies.count) / result.seconds,
            p50: Double(histogram.valueAtPercentile(50)) / 1e6, p99: Double(histogram.valueAtPercentile(99)) / 1e6,
            cpu: rawCPU)
    }
    for round in 1...rounds {
        rawRows.append(try runRaw(round: round, envelopes: false))
        var rawText = "raw \(rawRows.last!)"
        if envelopes {
            envelopeRows.append(try runRaw(round: round, envelopes: true))
            rawText += "; raw with envelopes \(envelopeRows.last!)"
        }
        if rawOnly {
            print("round \(round): \(rawText)")
            continue
        }
        let report = try await PressureRunner.run(workload, on: .nats())
        busRows.append(
            EndToEndRow(
                rate: report.throughput, p50: report.latencyP50Milliseconds, p99: report.latencyP99Milliseconds,
                cpu: report.cpuMicrosecondsPerMessage))
        print("round \(round): \(rawText); NATSEventBus \(busRows.last!)")
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    for (name, rows) in [("raw nats.c  ", rawRows), ("raw+envelope", envelopeRows), ("NATSEventBus", busRows)]
    where !rows.isEmpty {
        let medians = EndToEndRow(
            rate: median(rows.map(\.rate)), p50: median(rows.map(\.p50)), p99: median(rows.map(\.p99)),
            cpu: median(rows.map(\.cpu)))
        print("\(name)  medians: \(medians)")
    }
}
