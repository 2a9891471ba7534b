import EventBus
import EventBusNATS
import Foundation
import Synchronization

// Compares NATSEventBus with nats.c used directly: same server, same messages, one process.
// Usage: eventbus-nats-compare [--url nats://127.0.0.1:4222] [--count 200000] [--size 256] [--actors 256]
// Both sides send the same wire message: the payload plus `X-Event-ID` and `Nats-Msg-Id` headers.

func argument(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: name), index + 1 < arguments.count { return arguments[index + 1] }
    return fallback
}

let url = argument("--url", ProcessInfo.processInfo.environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222")
let count = Int(argument("--count", "200000")) ?? 200_000
let size = Int(argument("--size", "256")) ?? 256
let actors = Int(argument("--actors", "256")) ?? 256
let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
let run = String(UInt64(Date().timeIntervalSince1970 * 1000) % 100_000_000)

func rate(_ elapsed: Duration) -> Double {
    Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

let clock = ContinuousClock()
print("comparing with \(count) messages of \(size) bytes on \(url); NATSEventBus pool of \(actors) actors")

// Raw nats.c (skipped with --bus-only, for profiling the bus alone)
let busOnly = CommandLine.arguments.contains("--bus-only")
var rawPublish = Duration.seconds(1)
var rawConsume = Duration.seconds(1)
if !busOnly {
    let raw = try RawNATSClient(url: url)
    let rawStream = "CMPRAW\(run)"
    let rawSubject = "cmpraw\(run).bench"
    try raw.addStream(name: rawStream, subject: rawSubject)
    let ids = (0..<count).map { "raw-\(run)-\($0)" }
    rawPublish = try clock.measure { try raw.publishAsync(subject: rawSubject, payload: payload, ids: ids) }
    rawConsume = try clock.measure {
        try raw.consume(stream: rawStream, subject: rawSubject, durable: "raw", count: count)
    }
    raw.deleteStream(name: rawStream)
}

// NATSEventBus
var configuration = NATSConfiguration(servers: [url])
configuration.stream.name = "CMPBUS\(run)"
configuration.subjectPrefix = "cmpbus\(run)"
configuration.logger.logLevel = .warning
configuration.pool.actorCount = actors
let bus = try await NATSEventBus.connect(configuration)
let topic = "bench"
let messages = (0..<count).map {
    OutgoingMessage(
        topic: topic, headers: [MessageHeader(name: "X-Event-ID", value: "bus-\(run)-\($0)")], payload: payload)
}
let batchSize = 1000
let concurrency = 8
let busPublish = try await clock.measure {
    try await withThrowingTaskGroup(of: Void.self) { group in
        let batches = stride(from: 0, to: count, by: batchSize).map { Array(messages[$0..<min($0 + batchSize, count)]) }
        var next = 0
        for _ in 0..<min(concurrency, batches.count) {
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
let handled = Atomic<Int>(0)
let done = AsyncStream<Void>.makeStream()
let consumeStart = clock.now
let subscription = try await bus.subscribe(topic: topic, group: "bench") { _ in
    if handled.add(1, ordering: .relaxed).newValue == count { done.continuation.yield() }
}
for await _ in done.stream { break }
let busConsume = consumeStart.duration(to: clock.now)
await subscription.close()
await bus.shutdown()
let cleanup = try RawNATSClient(url: url)
cleanup.deleteStream(name: configuration.stream.name)
cleanup.deleteStream(name: configuration.effectiveDeadLetterStreamName)

func line(_ what: String, _ rawRate: Double, _ busRate: Double, target: Double) -> String {
    let ratio = busRate / rawRate
    return String(
        format: "%@  raw %9.0f msg/s   NATSEventBus %9.0f msg/s   ratio %5.1f%% (target >= %.0f%%) %@", what, rawRate,
        busRate, ratio * 100, target * 100, ratio >= target ? "OK" : "BELOW")
}
print(line("publish", rate(rawPublish), rate(busPublish), target: 0.8))
print(line("consume", rate(rawConsume), rate(busConsume), target: 0.7))
