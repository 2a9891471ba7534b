// eventbus-kafka-compare: raw librdkafka against KafkaEventBus on the same broker, in one process.
//
// Usage: eventbus-kafka-compare [--messages N] [--size BYTES] [--rounds R] [--brokers host:port]
//                               [--consume-only]
//        eventbus-kafka-compare --rate R [--rate R2 ...] [--duration S] [--publishers N] [--json]
// The broker defaults to EVENTBUS_KAFKA_BROKERS or 127.0.0.1:9092. Each round runs raw and bus back
// to back on fresh topics and groups; the table shows every round and the medians, because a
// shared 2-core machine makes single runs swing widely.
import EventBus
import EventBusKafka
import EventBusPressureKit
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

var arguments = CommandLine.arguments.dropFirst()
var messageCount = 200_000
var messageSize = 256
var rounds = 3
/// Skips the concurrent publish variants, so a profile of the run shows the consume path.
var consumeOnly = false
/// Paced mode: offered rates (messages per second), seconds per rate, JSON output.
var pacedRates: [Int] = []
var pacedSeconds = 10
var pacedJSON = false
/// Paced mode: publishing tasks a topic for a second bus row per rate (1: one bus row).
var pacedPublishers = 1
var pacedOnPool = false
var brokers =
    (getenv("EVENTBUS_KAFKA_BROKERS").map { String(cString: $0) }) ?? "127.0.0.1:9092"
while let argument = arguments.popFirst() {
    switch argument {
    case "--messages": messageCount = Int(arguments.popFirst() ?? "") ?? messageCount
    case "--size": messageSize = Int(arguments.popFirst() ?? "") ?? messageSize
    case "--rounds": rounds = max(1, Int(arguments.popFirst() ?? "") ?? rounds)
    case "--brokers": brokers = arguments.popFirst() ?? brokers
    case "--consume-only": consumeOnly = true
    case "--rate": pacedRates.append(Int(arguments.popFirst() ?? "") ?? 0)
    case "--duration": pacedSeconds = Int(arguments.popFirst() ?? "") ?? 0
    case "--publishers": pacedPublishers = Int(arguments.popFirst() ?? "") ?? 0
    case "--json": pacedJSON = true
    case "--pool-paced": pacedOnPool = true
    default:
        print(
            "usage: eventbus-kafka-compare [--messages N] [--size BYTES] [--rounds R] [--brokers host:port] [--consume-only]\n"
                + "       eventbus-kafka-compare --rate R [--rate R2 ...] [--duration S] [--publishers N] [--pool-paced] [--json]"
        )
        exit(2)
    }
}

if !pacedRates.isEmpty {
    guard pacedRates.allSatisfy({ $0 > 0 }), pacedSeconds > 0, pacedPublishers > 0 else {
        print("--rate, --duration and --publishers must be positive")
        exit(2)
    }
    try await runPaced(
        brokers: brokers, rates: pacedRates, seconds: pacedSeconds, payloadSize: 40, publishers: pacedPublishers,
        publishOnPacingThread: !pacedOnPool, json: pacedJSON)
    exit(0)
}

let payload = [UInt8](repeating: UInt8(ascii: "x"), count: messageSize)
let keys = (0..<1000).map { "aggregate-\($0)" }
let warmUp = 1000

print(
    "eventbus-kafka-compare: \(messageCount) messages of \(messageSize) bytes, \(rounds) round(s), broker \(brokers)"
)
print("librdkafka at run time: \(KafkaEventBus.librdkafkaVersion)")

var logger = Logger(label: "eventbus.compare")
logger.logLevel = .warning
let configuration = KafkaConfiguration(
    bootstrapServers: brokers.split(separator: ",").map(String.init),
    consumer: KafkaConsumerOptions(
        sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300),
        pollBatchSize: getenv("EVENTBUS_KAFKA_POLL_BATCH").flatMap { Int(String(cString: $0)) } ?? 1024),
    logger: logger)

/// Rates in messages per second of one round.
struct Round {
    var rawPublish = 0.0
    var busBatchPublish = 0.0
    var busConcurrentBatches = 0.0
    var busConcurrentSingles = 0.0
    var rawConsume = 0.0
    var busConsume = 0.0
    /// Process CPU microseconds per message over each side's consume span (all threads).
    var rawConsumeCPU = 0.0
    var busConsumeCPU = 0.0
}

let batchCallers = 64
let batchSize = 500
let singleCallers = 2000

@MainActor func runRound(_ number: Int) async throws -> Round {
    var round = Round()
    let runID = UInt32.random(in: 0...UInt32.max)
    let rawTopic = "compare-raw-\(runID)"
    let busTopic = "compare-bus-\(runID)"

    // Raw librdkafka: produce with delivery reports, then consume with a group.
    RawKafka.createTopic(brokers: brokers, topic: rawTopic, partitions: 3)
    let rawProducer = RawKafka.makeProducer(brokers: brokers)
    _ = RawKafka.produce(rawProducer, topic: rawTopic, count: warmUp, payload: payload, keys: keys)
    round.rawPublish =
        Double(messageCount)
        / RawKafka.produce(rawProducer, topic: rawTopic, count: messageCount, payload: payload, keys: keys)
    RawKafka.destroy(rawProducer)
    let rawConsume = RawKafka.consume(
        brokers: brokers, topic: rawTopic, group: "compare-raw-\(runID)", count: messageCount + warmUp,
        commitIntervalMilliseconds: Int(configuration.consumer.commitInterval / .milliseconds(1)),
        fetchWaitMilliseconds: Int(configuration.consumer.fetchMaxWait / .milliseconds(1)))
    round.rawConsume = Double(messageCount + warmUp) / rawConsume.seconds
    round.rawConsumeCPU = rawConsume.cpuSeconds * 1e6 / Double(messageCount + warmUp)

    // KafkaEventBus on the same messages.
    let bus = try KafkaEventBus(configuration: configuration)
    let messages = (0..<messageCount).map { index in
        OutgoingMessage(topic: busTopic, key: keys[index % keys.count], payload: payload)
    }
    try await bus.publish(Array(messages.prefix(warmUp)))
    let start = ContinuousClock.now
    try await bus.publish(messages)
    round.busBatchPublish = Double(messageCount) / RawKafka.seconds(ContinuousClock.now - start)
    if !consumeOnly {
        round.busConcurrentBatches =
            Double(messageCount)
            / (try await concurrentPublish(
                bus: bus, messages: messages, topic: busTopic + "-batches", callers: batchCallers,
                batchSize: batchSize))
        round.busConcurrentSingles =
            Double(messageCount)
            / (try await concurrentPublish(
                bus: bus, messages: messages, topic: busTopic + "-singles", callers: singleCallers,
                batchSize: 1))
    }

    let handled = Atomic<Int>(0)
    // When (and at what process CPU time) the first and the last message were handled: taken by
    // the handlers themselves, as the raw loop takes them, not by the waiting loop below.
    let firstHandled = Mutex<(ContinuousClock.Instant, Double)?>(nil)
    let lastHandled = Mutex<(ContinuousClock.Instant, Double)?>(nil)
    let expected = messageCount + warmUp
    let subscription = try await bus.subscribe(topic: busTopic, group: "compare-bus-\(runID)") { message in
        message.withUnsafePayloadBytes { PayloadChecksum.verify($0) }
        let count = handled.add(1, ordering: .relaxed).newValue
        if count == 1 {
            firstHandled.withLock { $0 = (ContinuousClock.now, ProcessResources.cpuSeconds()) }
        } else if count == expected {
            lastHandled.withLock { $0 = (ContinuousClock.now, ProcessResources.cpuSeconds()) }
        }
    }
    // The handlers take the first and last times themselves, so this loop only decides when to go
    // on: it checks every 50 ms, not every millisecond, whose timer wake-ups (a dispatch manager
    // thread, a job and a thread wake-up each) were charged to the bus's CPU inside the measured
    // window (11 % of the handling threads' samples in a profile), while the raw loop has no such
    // waiter. It gives up once nothing was handled for 30 s.
    var seen = 0
    var lastProgress = ContinuousClock.now
    while handled.load(ordering: .relaxed) < expected {
        try await Task.sleep(for: .milliseconds(50))
        let now = handled.load(ordering: .relaxed)
        if now != seen {
            seen = now
            lastProgress = .now
        } else if ContinuousClock.now - lastProgress > .seconds(30) {
            throw EventBusError(.timeout, "the bus handled \(now) of \(expected) messages and then nothing for 30 s")
        }
    }
    let (first, firstCPU) = firstHandled.withLock { $0! }
    let (end, endCPU) = lastHandled.withLock { $0! }
    round.busConsume = Double(expected) / RawKafka.seconds(end - first)
    round.busConsumeCPU = (endCPU - firstCPU) * 1e6 / Double(expected)
    await subscription.close()
    await bus.shutdown()
    print(
        "round \(number): raw publish \(Int(round.rawPublish)), bus batch \(Int(round.busBatchPublish)), "
            + "bus \(batchCallers)x\(batchSize) \(Int(round.busConcurrentBatches)), bus \(singleCallers) singles "
            + "\(Int(round.busConcurrentSingles)); raw consume \(Int(round.rawConsume)), bus consume \(Int(round.busConsume))"
    )
    return round
}

func concurrentPublish(
    bus: KafkaEventBus, messages: [OutgoingMessage], topic: String, callers: Int, batchSize: Int
) async throws -> Double {
    try await bus.publish(OutgoingMessage(topic: topic, payload: [0]))
    let messageCount = messages.count
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        let perCaller = messageCount / callers
        for caller in 0..<callers {
            group.addTask {
                var index = caller * perCaller
                while index < (caller + 1) * perCaller {
                    let end = min(index + batchSize, (caller + 1) * perCaller)
                    var chunk = Array(messages[index..<end])
                    for position in chunk.indices { chunk[position].topic = topic }
                    if chunk.count == 1 {
                        try await bus.publish(chunk[0])
                    } else {
                        try await bus.publish(chunk)
                    }
                    index = end
                }
            }
        }
        try await group.waitForAll()
    }
    return RawKafka.seconds(ContinuousClock.now - start)
}

var results: [Round] = []
for number in 1...rounds {
    results.append(try await runRound(number))
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
func percent(_ value: Double) -> String { String(Int((value * 100).rounded())) + "%" }
@MainActor func row(_ what: String, _ raw: KeyPath<Round, Double>, _ bus: KeyPath<Round, Double>) -> String {
    let rawMedian = median(results.map { $0[keyPath: raw] })
    let busMedian = median(results.map { $0[keyPath: bus] })
    let ratios = results.map { $0[keyPath: bus] / $0[keyPath: raw] }
    return
        "| \(what) | \(Int(rawMedian)) | \(Int(busMedian)) | \(percent(median(ratios))) | \(ratios.map(percent).joined(separator: " ")) |"
}

print("")
print("medians over \(rounds) round(s); ratio = median of per-round ratios (bus / raw of the same round)")
print("| what | raw librdkafka msg/s | KafkaEventBus msg/s | ratio | per round |")
print("|---|---|---|---|---|")
print(row("publish, one batch call, delivery reports", \.rawPublish, \.busBatchPublish))
// With --consume-only the concurrent publish shapes are not run: no rows of zeros for them.
if !consumeOnly {
    print(
        row(
            "publish, \(batchCallers) concurrent callers x batches of \(batchSize)", \.rawPublish,
            \.busConcurrentBatches))
    print(
        row(
            "publish, \(singleCallers) concurrent callers x single messages", \.rawPublish,
            \.busConcurrentSingles))
}
print(row("consume with a group, first message to last handled", \.rawConsume, \.busConsume))
print("")
func micros(_ value: Double) -> String { String(Double(Int((value * 100).rounded())) / 100) }
print(
    "consume CPU us per message (process, all threads, first to last message): raw "
        + results.map { micros($0.rawConsumeCPU) }.joined(separator: " ")
        + "; bus " + results.map { micros($0.busConsumeCPU) }.joined(separator: " ")
        + "; medians raw \(micros(median(results.map(\.rawConsumeCPU)))) bus \(micros(median(results.map(\.busConsumeCPU))))"
)
