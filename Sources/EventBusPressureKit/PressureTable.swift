/// Formats pressure reports as the fixed-width table the reference report printed, plus a `members`
/// column (subscriptions per topic's group) so a row says which shape it measured.
public enum PressureTable {
    private static let columns: [(title: String, width: Int)] = [
        ("backend", 8), ("level", 15), ("members", 7), ("messages", 9), ("msg/s", 11), ("p50 ms", 8), ("p99 ms", 8),
        ("p99.9 ms", 9), ("max ms", 8), ("success", 8), ("dups", 5), ("dlq", 5), ("order", 6), ("mem MB", 7),
        ("peak MB", 8), ("threads", 8), ("fds", 5), ("tasks", 6), ("ready s", 8), ("cpu us", 7),
    ]

    /// The header line and a rule under it.
    public static var header: String {
        let titles = columns.map { pad($0.title, $0.width) }.joined(separator: " ")
        return titles + "\n" + String(repeating: "-", count: titles.count)
    }

    /// One report as one line.
    public static func row(_ report: PressureReport) -> String {
        let cells = [
            report.backend, report.level, "\(report.members)", "\(report.published)",
            format(report.throughput, decimals: 0),
            format(report.latencyP50Milliseconds, decimals: 2), format(report.latencyP99Milliseconds, decimals: 2),
            format(report.latencyP999Milliseconds, decimals: 2), format(report.latencyMaxMilliseconds, decimals: 2),
            format(report.successRate, decimals: 2) + "%", "\(report.duplicates)",
            "\(report.deadLettered)", "\(report.orderViolations)", format(report.memoryIncrementMB, decimals: 2),
            format(report.peakIncrementMB, decimals: 2), "\(report.leakedThreads)", "\(report.leakedFileDescriptors)",
            "\(report.leakedTasks)", format(report.subscribeSeconds, decimals: 3),
            format(report.cpuMicrosecondsPerMessage, decimals: 1),
        ]
        return zip(cells, columns).map { pad($0, $1.width) }.joined(separator: " ")
    }

    /// Header and one line per report.
    public static func render(_ reports: [PressureReport]) -> String {
        ([header] + reports.map(row)).joined(separator: "\n")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// Fixed-point text without Foundation.
    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + "\(whole)"
        if decimals > 0 {
            let digits = "\(fraction)"
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }
}
