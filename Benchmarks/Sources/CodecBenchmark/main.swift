import EventBus

// Measures the envelope codec on one core: encode, decode, and encode+decode round trips per second.
// The in-memory pressure run pays one encode and one decode per message, so round trips/s bounds it.

let arguments = CommandLine.arguments
let iterations = arguments.count > 1 ? Int(arguments[1]) ?? 2_000_000 : 2_000_000
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5

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

/// Runs `body` `iterations` times per run and returns the median rate in operations per second.
func measure(_ name: String, _ body: () throws(EventBusError) -> Int) -> Double {
    var rates: [Double] = []
    var checksum = 0
    for _ in 0..<runs {
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<iterations {
            do {
                checksum &+= try body()
            } catch {
                fatalError("\(name) failed: \(error)")
            }
        }
        let elapsed = start.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        rates.append(Double(iterations) / seconds)
    }
    rates.sort()
    let median = rates[rates.count / 2]
    let formatted = String(Int(median.rounded()))
    let nanos = String(Int((1e9 / median).rounded()))
    print(
        "\(name + String(repeating: " ", count: max(0, 12 - name.count))) \(formatted) /s  (\(nanos) ns/op, "
            + "min \(Int(rates.first ?? 0)) max \(Int(rates.last ?? 0)), checksum \(checksum & 0xFFFF))")
    return median
}

_ = measure("encode") { () throws(EventBusError) in try EnvelopeCodec.encode(envelope).count }
_ = measure("decode") { () throws(EventBusError) in Int(try EnvelopeCodec.decode(encoded).eventVersion) }
_ = measure("round trip") { () throws(EventBusError) in
    Int(try EnvelopeCodec.decode(EnvelopeCodec.encode(envelope)).eventVersion)
}
