import Foundation

/// One side's figures in one end-to-end round: throughput, latency percentiles and process CPU
/// per message (the raw side's CPU includes the idle bus connection beside it).
struct EndToEndRow: CustomStringConvertible {
    var rate: Double
    var p50: Double
    var p99: Double
    var cpu: Double

    var description: String {
        String(format: "%.0f msg/s p50 %.1f ms p99 %.1f ms cpu %.1f us/msg", rate, p50, p99, cpu)
    }
}
