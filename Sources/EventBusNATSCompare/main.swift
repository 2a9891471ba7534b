import EventBus
import EventBusNATS
import EventBusPressureKit
import Foundation
import Synchronization

// Compares NATSEventBus with nats.c used directly: same server, same messages, one process.
// Usage: eventbus-nats-compare [--url nats://127.0.0.1:4222] [--count 200000] [--size 256] [--actors 256]
//                              [--rounds 3] [--fetch-batch 1024] [--raw-fetch-batch 256]
// The raw consumer fetches 256 at a time by default, the reference in Docs (INFRA); the bus uses its
// own default batch.
// Each round runs raw publish, bus publish, raw consume, bus consume back to back on fresh streams,
// so load from other processes hits both sides alike; the median round of each is compared.
// Both sides send the same wire message: the payload plus `X-Event-ID` and `Nats-Msg-Id` headers.
//
// With --end-to-end [--level extreme | --messages N] [--publish-batch 256] [--raw-only] the comparison is of latency instead: raw nats.c publishing
// the level's messages over 5 subjects with the pressure workload's publish window in flight while
// 5 pull consumers read them, against `eventbus-pressure --backend nats` at that level. With
// --raw-envelopes each round also runs raw nats.c with jxt-core envelopes as payloads (encoded before
// each publish, decoded by the consumers), so the envelope JSON's cost is measured in the same run.
//
// With --rate R [--rate R2 ...] [--duration S] [--json] the runs are paced instead: raw nats.c and
// the bus each offer R messages a second over 5 subjects for S seconds (default 10), latency from
// each message's due time (see PacedRunner); the raw consumer fetches --raw-fetch-batch at a time.
// --publishers N (N > 1) runs the bus a second time per rate with N publishing tasks a topic.
// --pool-paced resumes the bus's paced publishing tasks on Swift's pool instead of running them on the
// pacing thread (PacedRunner.Plan.publishOnPacingThread), the shape of the runs before 2026-11-30 15:30.

func argument(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: name), index + 1 < arguments.count { return arguments[index + 1] }
    return fallback
}

let url = argument("--url", ProcessInfo.processInfo.environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222")
let count = Int(argument("--count", "200000")) ?? 200_000
let size = Int(argument("--size", "256")) ?? 256
let actors = Int(argument("--actors", "256")) ?? 256
let rounds = max(1, Int(argument("--rounds", "3")) ?? 3)
let fetchBatch = Int(argument("--fetch-batch", "1024")) ?? 1024
let rawFetchBatch = Int(argument("--raw-fetch-batch", "256")) ?? 256
let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
let run = String(UInt64(Date().timeIntervalSince1970 * 1000) % 100_000_000)

func rate(_ elapsed: Duration) -> Double {
    Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

let clock = ContinuousClock()
if CommandLine.arguments.contains("--rate") {
    let arguments = CommandLine.arguments
    let rates = arguments.indices.filter { arguments[$0] == "--rate" && $0 + 1 < arguments.count }
        .map { Int(arguments[$0 + 1]) ?? 0 }
    let seconds = Int(argument("--duration", "10")) ?? 0
    let publishers = Int(argument("--publishers", "1")) ?? 0
    guard !rates.isEmpty, rates.allSatisfy({ $0 > 0 }), seconds > 0, publishers > 0 else {
        print("--rate, --duration and --publishers must be positive")
        exit(2)
    }
    try await comparePaced(
        url: url, rates: rates, seconds: seconds, batch: rawFetchBatch, publishers: publishers,
        publishOnPacingThread: !arguments.contains("--pool-paced"), json: arguments.contains("--json"), run: run)
    exit(0)
}
if CommandLine.arguments.contains("--end-to-end") {
    let levelName = argument("--level", "extreme")
    let messages = Int(argument("--messages", "0")) ?? 0
    guard let level = messages > 0 ? .custom(messages) : PressureLevel.reference.first(where: { $0.name == levelName })
    else {
        print("unknown level \(levelName): low, medium, high or extreme")
        exit(2)
    }
    try await compareEndToEnd(
        url: url, level: level,
        publishBatch: Int(argument("--publish-batch", "256")) ?? 256, rounds: rounds, batch: rawFetchBatch,
        rawOnly: CommandLine.arguments.contains("--raw-only"),
        envelopes: CommandLine.arguments.contains("--raw-envelopes"), run: run)
    exit(0)
}
print(
    "comparing with \(count) messages of \(size) bytes on \(url); NATSEventBus pool of \(actors) actors, fetch batch \(fetchBatch) (raw \(rawFetchBatch)); "
        + "\(rounds) round(s)")

var configuration = NATSConfiguration(servers: [url])
configuration.stream.name = "CMPBUS\(run)"
configuration.subjectPrefix = "cmpbus\(run)"
configuration.logger.logLevel = .warning
configuration.pool.actorCount = actors
configuration.consumer.fetchBatch = fetchBatch
let bus = try await NATSEventBus.connect(configuration)
let raw = try RawNATSClient(url: url)

/// Publishes `messages` in batches of 1000 with 8 batches in flight, as a busy service would.
func publishThroughBus(_ messages: [OutgoingMessage]) async throws {
    let batches = stride(from: 0, to: messages.count, by: 1000).map {
        Array(messages[$0..<min($0 + 1000, messages.count)])
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        for _ in 0..<min(8, batches.count) {
            let batch = batches[next]
            next += 1
            group.addTask { try await bus.publish(batch) }
        }
        while try await group.next() != nil {
            if next < batches.count {
                let batch = batches[next]
                next += 1
                group.addTask { try await bus.publish(batch) }
            }
        }
    }
}

/// Subscribes and waits until every message of the topic was handled (and so acked).
func consumeThroughBus(topic: String) async throws -> Duration {
    let handled = Atomic<Int>(0)
    let done = AsyncStream<Void>.makeStream()
    let start = clock.now
    let subscription = try await bus.subscribe(topic: topic, group: "bench") { _ in
        if handled.add(1, ordering: .relaxed).newValue == count { done.continuation.yield() }
    }
    for await _ in done.stream { break }
    let elapsed = start.duration(to: clock.now)
    await subscription.close()
    return elapsed
}

var rawPublishRates: [Double] = []
var busPublishRates: [Double] = []
var rawConsumeRates: [Double] = []
var busConsumeRates: [Double] = []
for round in 1...rounds {
    let rawStream = "CMPRAW\(run)R\(round)"
    let rawSubject = "cmpraw\(run)r\(round).bench"
    try raw.addStream(name: rawStream, subject: rawSubject)
    let ids = (0..<count).map { "raw-\(run)-\(round)-\($0)" }
    let topic = "bench\(round)"
    let messages = (0..<count).map {
        OutgoingMessage(
            topic: topic, headers: [MessageHeader(name: "X-Event-ID", value: "bus-\(run)-\(round)-\($0)")],
            payload: payload)
    }
    rawPublishRates.append(
        rate(try clock.measure { try raw.publishAsync(subject: rawSubject, payload: payload, ids: ids) }))
    busPublishRates.append(rate(try await clock.measure { try await publishThroughBus(messages) }))
    rawConsumeRates.append(
        rate(
            try clock.measure {
                try raw.consume(
                    stream: rawStream, subject: rawSubject, durable: "raw", count: count, batch: rawFetchBatch)
            })
    )
    busConsumeRates.append(rate(try await consumeThroughBus(topic: topic)))
    raw.deleteStream(name: rawStream)
    print(
        String(
            format: "round %d: publish raw %.0f bus %.0f msg/s; consume raw %.0f bus %.0f msg/s", round,
            rawPublishRates.last!, busPublishRates.last!, rawConsumeRates.last!, busConsumeRates.last!))
}
await bus.shutdown()
raw.deleteStream(name: configuration.stream.name)
raw.deleteStream(name: configuration.effectiveDeadLetterStreamName)

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func line(_ what: String, _ rawRate: Double, _ busRate: Double, target: Double) -> String {
    let ratio = busRate / rawRate
    return String(
        format: "%@  raw %9.0f msg/s   NATSEventBus %9.0f msg/s   ratio %5.1f%% (target >= %.0f%%) %@", what, rawRate,
        busRate, ratio * 100, target * 100, ratio >= target ? "OK" : "BELOW")
}
print("medians of \(rounds) round(s):")
print(line("publish", median(rawPublishRates), median(busPublishRates), target: 0.8))
print(line("consume", median(rawConsumeRates), median(busConsumeRates), target: 0.7))
