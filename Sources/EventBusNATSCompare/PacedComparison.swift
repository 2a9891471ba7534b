import EventBusPressureKit
import Foundation
import Histogram

/// Paced (open-loop) runs of raw nats.c and `NATSEventBus` in the same shape, one after the other
/// for every rate: five subjects, `rate` messages a second for `seconds`, latency from each
/// message's due time to its handler (raw: to the fetch that returned it; the raw consumer fetches
/// `batch` at a time and acks each). Raw runs twice per rate: pipelined (`nats.c`) and with the
/// bus's publisher shape (`nats.c-await`, see `RawNATSClient.endToEnd`). With `publishers` above 1
/// the bus runs a second time with that many publishing tasks a topic. Prints a table, or one
/// JSON array of ``PacedReport``s. `publishOnPacingThread` is ``PacedRunner/Plan/publishOnPacingThread``
/// of the bus's rows (false with `--pool-paced`).
func comparePaced(
    url: String, rates: [Int], seconds: Int, batch: Int, publishers: Int, publishOnPacingThread: Bool, json: Bool,
    run: String
) async throws {
    let raw = try RawNATSClient(url: url)
    let target = PressureTarget.nats()
    var reports: [PacedReport] = []
    if !json { print(PacedTable.header) }
    // One small bus run first, as eventbus-pressure does, so both sides start warm.
    _ = try await PacedRunner.run(PacedRunner.Plan(rate: 1000, duration: .seconds(1)), on: target)
    for (round, rate) in rates.enumerated() {
        // Raw nats.c twice: pipelined (one publisher, up to 256 PubAcks outstanding) and in the
        // bus's paced shape (a publisher per subject awaiting each round's PubAcks), so the table
        // shows how much of the gap is the publishers' shape and how much the rest of the path.
        for (shape, awaiting) in [("nats.c", false), ("nats.c-await", true)] {
            let stream = "PACEDRAW\(run)R\(round)\(awaiting ? "A" : "P")"
            let subjects = (0..<5).map { "pacedraw\(run)r\(round)\(awaiting ? "a" : "p").t\($0)" }
            try raw.addStream(name: stream, subjects: subjects)
            let published = max(1, rate * seconds)
            let cpuBefore = ProcessResources.cpuSeconds()
            let result = try raw.endToEnd(
                stream: stream, subjects: subjects, count: published, payloadSize: 40, window: 256, batch: batch,
                rate: rate, awaiting: awaiting)
            let cpu = ProcessResources.cpuSeconds() - cpuBefore
            raw.deleteStream(name: stream)
            var histogram = Histogram<UInt64>(
                highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
            for latency in result.latencies { histogram.record(latency / 1000) }
            let rawReport = PacedReport(
                backend: "nats", client: shape, offeredRate: rate, durationSeconds: Double(seconds),
                published: published, handled: result.latencies.count, offeredSeconds: result.seconds,
                spanSeconds: result.seconds, latencies: histogram, cpuSeconds: cpu)
            reports.append(rawReport)
            if !json { print(PacedTable.row(rawReport)) }
        }
        reports += try await PacedRunner.busRows(
            rate: rate, seconds: seconds, publishers: publishers, publishOnPacingThread: publishOnPacingThread,
            on: target, printing: !json)
    }
    if json { print(try PacedTable.json(reports)) }
}
