import EventBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Measures the envelope codec on one core: encode, decode, and encode+decode round trips per second.
// The in-memory pressure run pays one encode and one decode per message, so round trips/s bounds it.
// Usage: CodecBenchmark [iterations=2000000] [runs=5] [encode|decode|roundtrip]

let arguments = CommandLine.arguments
let iterations = arguments.count > 1 ? Int(arguments[1]) ?? 2_000_000 : 2_000_000
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
let only = arguments.count > 3 ? arguments[3] : nil

let envelope = Envelope(
    eventID: "01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f",
    aggregateID: "order-12345",
    eventType: "OrderPlaced",
    eventVersion: 42,
    timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_795_608_000_123_456_789),
    traceID: "4bf92f3577b34da6a3ce929d0e0e4736",
    payload: Array(#"{"amount":125.50,"currency":"EUR","n":42}"#.utf8)
)

let encoded: [UInt8]
do {
    encoded = try EnvelopeCodec.encode(envelope)
    guard try EnvelopeCodec.decode(encoded) == envelope else { fatalError("round trip changed the envelope") }
} catch {
    fatalError("benchmark envelope does not encode: \(error)")
}
print("envelope: \(encoded.count) bytes, payload \(envelope.payload.count) bytes")
print("iterations: \(iterations) per run, runs: \(runs), reporting the median")

/// This thread's CPU time in seconds: on a shared machine, wall time also counts other people's work.
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func formatRate(_ rate: Double) -> String {
    let text = String(Int(rate.rounded()))
    return String(repeating: " ", count: max(0, 9 - text.count)) + text
}

/// Runs `body` `iterations` times per run; prints the median rates by wall time and by thread CPU time.
func measure(_ name: String, _ body: () throws(EventBusError) -> Int) {
    if let only, only != name { return }
    var wallRates: [Double] = []
    var cpuRates: [Double] = []
    var checksum = 0
    for _ in 0..<runs {
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = threadCPUSeconds()
        for _ in 0..<iterations {
            do {
                checksum &+= try body()
            } catch {
                fatalError("\(name) failed: \(error)")
            }
        }
        let cpuSeconds = threadCPUSeconds() - cpuStart
        let elapsed = start.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        wallRates.append(Double(iterations) / seconds)
        cpuRates.append(Double(iterations) / cpuSeconds)
    }
    wallRates.sort()
    cpuRates.sort()
    let wall = wallRates[wallRates.count / 2]
    let cpu = cpuRates[cpuRates.count / 2]
    let label = name + String(repeating: " ", count: max(0, 11 - name.count))
    print(
        "\(label) \(formatRate(wall)) /s wall (\(Int((1e9 / wall).rounded())) ns/op, runs \(formatRate(wallRates[0]))"
            + "..\(formatRate(wallRates[wallRates.count - 1])))   \(formatRate(cpu)) /s per CPU-second "
            + "(\(Int((1e9 / cpu).rounded())) ns/op)   [checksum \(checksum & 0xFFFF)]")
}

measure("encode") { () throws(EventBusError) in try EnvelopeCodec.encode(envelope).count }
measure("decode") { () throws(EventBusError) in Int(try EnvelopeCodec.decode(encoded).eventVersion) }
measure("roundtrip") { () throws(EventBusError) in
    Int(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)).eventVersion)
}
