import EventBus
import EventBusPressureKit
import Foundation
import Histogram

/// Paced (open-loop) runs of raw librdkafka and `KafkaEventBus` in the same shape, one after the
/// other for every rate: five fresh topics of 3 partitions, `rate` messages a second for
/// `seconds`, latency from each message's due time to its handler (raw: to `rd_kafka_consumer_poll`
/// returning it). With `publishers` above 1 the bus runs a second time with that many publishing
/// tasks a topic. `publishOnPacingThread` is ``PacedRunner/Plan/publishOnPacingThread`` of the bus's
/// rows (false with `--pool-paced`). Prints a table, or one JSON array of ``PacedReport``s with `json`.
func runPaced(
    brokers: String, rates: [Int], seconds: Int, payloadSize: Int, publishers: Int, publishOnPacingThread: Bool,
    json: Bool
) async throws {
    let target = try PressureTarget.kafka()
    var reports: [PacedReport] = []
    if !json { print(PacedTable.header) }
    // One small bus run first, as eventbus-pressure does, so both sides start warm.
    _ = try await PacedRunner.run(PacedRunner.Plan(rate: 1000, duration: .seconds(1)), on: target)
    for rate in rates {
        let runID = UInt32.random(in: 0...UInt32.max)
        let topics = (0..<5).map { "paced-raw-\(runID)-t\($0)" }
        for topic in topics { RawKafka.createTopic(brokers: brokers, topic: topic, partitions: 3) }
        let cpuBefore = ProcessResources.cpuSeconds()
        let raw = RawKafka.paced(
            brokers: brokers, topics: topics, rate: rate, seconds: Double(seconds), payloadSize: payloadSize,
            fetchWaitMilliseconds: 10)
        let cpu = ProcessResources.cpuSeconds() - cpuBefore
        let rawReport = PacedReport(
            backend: "kafka", client: "librdkafka", offeredRate: rate, durationSeconds: Double(seconds),
            published: max(1, rate * seconds), handled: raw.handled, offeredSeconds: raw.offeredSeconds,
            spanSeconds: raw.spanSeconds, latencies: raw.latencies, cpuSeconds: cpu)
        reports.append(rawReport)
        if !json { print(PacedTable.row(rawReport)) }
        reports += try await PacedRunner.busRows(
            rate: rate, seconds: seconds, publishers: publishers, publishOnPacingThread: publishOnPacingThread,
            on: target, printing: !json)
    }
    if json { print(try PacedTable.json(reports)) }
}
