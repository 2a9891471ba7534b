/// Puts two backends' reports side by side per level, as the reference report compared Kafka and
/// NATS JetStream: each metric per level, the averages, and which backend wins each metric.
public struct PressureComparison: Sendable {
    /// One compared figure: its name, how to read it from a report, and whether higher is better.
    struct Metric: Sendable {
        let name: String
        let value: @Sendable (PressureReport) -> Double
        let higherIsBetter: Bool
        let decimals: Int
    }

    static let metrics: [Metric] = [
        Metric(name: "throughput msg/s", value: { $0.throughput }, higherIsBetter: true, decimals: 0),
        Metric(name: "latency p50 ms", value: { $0.latencyP50Milliseconds }, higherIsBetter: false, decimals: 2),
        Metric(name: "latency p99 ms", value: { $0.latencyP99Milliseconds }, higherIsBetter: false, decimals: 2),
        Metric(name: "success %", value: { $0.successRate }, higherIsBetter: true, decimals: 2),
        Metric(name: "memory +MB", value: { $0.memoryIncrementMB }, higherIsBetter: false, decimals: 2),
        Metric(
            name: "cpu us/msg", value: { $0.cpuMicrosecondsPerMessage }, higherIsBetter: false, decimals: 1),
        Metric(name: "leaked threads", value: { Double($0.leakedThreads) }, higherIsBetter: false, decimals: 0),
        Metric(name: "order violations", value: { Double($0.orderViolations) }, higherIsBetter: false, decimals: 0),
    ]

    /// The first backend's name and its reports, one per level.
    public let first: (backend: String, reports: [PressureReport])
    /// The second backend's name and its reports, in the same level order.
    public let second: (backend: String, reports: [PressureReport])

    /// Creates a comparison; both report lists must cover the same levels in the same order.
    public init(first: [PressureReport], second: [PressureReport]) {
        self.first = (first.first?.backend ?? "first", first)
        self.second = (second.first?.backend ?? "second", second)
    }

    /// Which backend wins a metric over the averages, or "tie".
    func winner(_ metric: Metric) -> String {
        let a = Self.average(first.reports.map(metric.value))
        let b = Self.average(second.reports.map(metric.value))
        if a == b { return "tie" }
        return (a > b) == metric.higherIsBetter ? first.backend : second.backend
    }

    /// Winners per metric name, for tests and machine-readable output.
    public var winners: [String: String] {
        Dictionary(uniqueKeysWithValues: Self.metrics.map { ($0.name, winner($0)) })
    }

    /// The side-by-side table: a block per level, then averages and winners.
    public func render() -> String {
        var lines: [String] = []
        let header = [pad("metric", 18), pad(first.backend, 14), pad(second.backend, 14), pad("winner", 10)]
        for (index, report) in first.reports.enumerated() where index < second.reports.count {
            lines.append("level \(report.level) (\(report.published) messages)")
            lines.append(header.joined(separator: " "))
            for metric in Self.metrics {
                let a = metric.value(report)
                let b = metric.value(second.reports[index])
                let best = a == b ? "tie" : ((a > b) == metric.higherIsBetter ? first.backend : second.backend)
                lines.append(row(metric, a, b, best))
            }
            lines.append("")
        }
        lines.append("averages over \(min(first.reports.count, second.reports.count)) levels")
        lines.append(header.joined(separator: " "))
        for metric in Self.metrics {
            lines.append(
                row(
                    metric,
                    Self.average(first.reports.map(metric.value)),
                    Self.average(second.reports.map(metric.value)),
                    winner(metric)
                )
            )
        }
        return lines.joined(separator: "\n")
    }

    private func row(_ metric: Metric, _ a: Double, _ b: Double, _ best: String) -> String {
        [
            pad(metric.name, 18),
            pad(PressureTable.format(a, decimals: metric.decimals), 14),
            pad(PressureTable.format(b, decimals: metric.decimals), 14),
            pad(best, 10),
        ].joined(separator: " ")
    }

    private func pad(_ text: String, _ width: Int) -> String { PressureTable.pad(text, width) }

    static func average(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }
}
