// eventbus-kafka-compare: raw librdkafka against KafkaEventBus on the same broker, in one process.
//
// Usage: eventbus-kafka-compare [--messages N] [--size BYTES] [--brokers host:port]
// The broker defaults to EVENTBUS_KAFKA_BROKERS or 127.0.0.1:9092.
import EventBus
import EventBusKafka
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

var arguments = CommandLine.arguments.dropFirst()
var messageCount = 200_000
var messageSize = 256
var brokers =
    (getenv("EVENTBUS_KAFKA_BROKERS").map { String(cString: $0) }) ?? "127.0.0.1:9092"
while let argument = arguments.popFirst() {
    switch argument {
    case "--messages": messageCount = Int(arguments.popFirst() ?? "") ?? messageCount
    case "--size": messageSize = Int(arguments.popFirst() ?? "") ?? messageSize
    case "--brokers": brokers = arguments.popFirst() ?? brokers
    default:
        print("usage: eventbus-kafka-compare [--messages N] [--size BYTES] [--brokers host:port]")
        exit(2)
    }
}

let runID = UInt32.random(in: 0...UInt32.max)
let rawTopic = "compare-raw-\(runID)"
let busTopic = "compare-bus-\(runID)"
let payload = [UInt8](repeating: UInt8(ascii: "x"), count: messageSize)
let keys = (0..<1000).map { "aggregate-\($0)" }
let warmUp = 1000

print("eventbus-kafka-compare: \(messageCount) messages of \(messageSize) bytes, broker \(brokers)")
print("librdkafka at run time: \(KafkaEventBus.librdkafkaVersion)")

// Raw librdkafka.
RawKafka.createTopic(brokers: brokers, topic: rawTopic, partitions: 3)
let rawProducer = RawKafka.makeProducer(brokers: brokers)
_ = RawKafka.produce(rawProducer, topic: rawTopic, count: warmUp, payload: payload, keys: keys)
let rawProduce = RawKafka.produce(
    rawProducer, topic: rawTopic, count: messageCount, payload: payload, keys: keys)
RawKafka.destroy(rawProducer)
let rawConsume = RawKafka.consume(
    brokers: brokers, topic: rawTopic, group: "compare-raw-\(runID)", count: messageCount + warmUp)

// KafkaEventBus.
var logger = Logger(label: "eventbus.compare")
logger.logLevel = .warning
let configuration = try KafkaConfiguration(
    bootstrapServers: brokers.split(separator: ",").map(String.init),
    consumer: KafkaConsumerOptions(
        sessionTimeout: .seconds(3), heartbeatInterval: .milliseconds(300),
        pollBatchSize: getenv("EVENTBUS_KAFKA_POLL_BATCH").flatMap { Int(String(cString: $0)) } ?? 1024),
    logger: logger)
let bus = try KafkaEventBus(configuration: configuration)
let messages = (0..<messageCount).map { index in
    OutgoingMessage(topic: busTopic, key: keys[index % keys.count], payload: payload)
}
try await bus.publish(Array(messages.prefix(warmUp)))
let clock = ContinuousClock()
var start = clock.now
try await bus.publish(messages)
let busBatchPublish = RawKafka.seconds(clock.now - start)

// Concurrent callers publishing batches: one continuation per call, not per message.
let batchCallers = 64
let batchSize = 500
let busConcurrentPublish = try await concurrentPublish(
    bus: bus, messages: messages, payload: payload, topic: busTopic + "-batches", callers: batchCallers,
    batchSize: batchSize)
// Concurrent callers publishing one message per call.
let singleCallers = 2000
let busSinglePublish = try await concurrentPublish(
    bus: bus, messages: messages, payload: payload, topic: busTopic + "-singles", callers: singleCallers, batchSize: 1)

func concurrentPublish(
    bus: KafkaEventBus, messages: [OutgoingMessage], payload: [UInt8], topic: String, callers: Int,
    batchSize: Int
) async throws -> Double {
    let messageCount = messages.count
    try await bus.publish(OutgoingMessage(topic: topic, payload: payload))
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        let perCaller = messageCount / callers
        for caller in 0..<callers {
            group.addTask {
                var index = caller * perCaller
                while index < (caller + 1) * perCaller {
                    let end = min(index + batchSize, (caller + 1) * perCaller)
                    if batchSize == 1 {
                        var message = messages[index]
                        message.topic = topic
                        try await bus.publish(message)
                    } else {
                        var chunk = Array(messages[index..<end])
                        for position in chunk.indices { chunk[position].topic = topic }
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

let handled = Atomic<Int>(0)
let firstHandled = Mutex<ContinuousClock.Instant?>(nil)
let expected = messageCount + warmUp
let subscribeStart = clock.now
let subscription = try await bus.subscribe(topic: busTopic, group: "compare-bus-\(runID)") { _ in
    if handled.add(1, ordering: .relaxed).newValue == 1 {
        firstHandled.withLock { $0 = ContinuousClock.now }
    }
}
while handled.load(ordering: .relaxed) < expected {
    try await Task.sleep(for: .milliseconds(1))
}
let busConsumeEnd = clock.now
let busFirst = firstHandled.withLock { $0! }
let busConsume = RawKafka.seconds(busConsumeEnd - busFirst)
await subscription.close()
await bus.shutdown()

func rate(_ count: Int, _ seconds: Double) -> String {
    String(Int((Double(count) / seconds).rounded()))
}
func percent(_ value: Double) -> String { String(Int((value * 100).rounded())) + "%" }

let rawProduceRate = Double(messageCount) / rawProduce
let busProduceRate = Double(messageCount) / busBatchPublish
let busConcurrentRate = Double(messageCount) / busConcurrentPublish
let busSingleRate = Double(messageCount) / busSinglePublish
let rawConsumeRate = Double(expected) / rawConsume.seconds
let busConsumeRate = Double(expected) / busConsume
print("")
print("| what | raw librdkafka msg/s | KafkaEventBus msg/s | ratio |")
print("|---|---|---|---|")
print(
    "| publish, one batch call, delivery reports | \(rate(messageCount, rawProduce)) | \(rate(messageCount, busBatchPublish)) | \(percent(busProduceRate / rawProduceRate)) |"
)
print(
    "| publish, \(batchCallers) concurrent callers x batches of \(batchSize) | \(rate(messageCount, rawProduce)) | \(rate(messageCount, busConcurrentPublish)) | \(percent(busConcurrentRate / rawProduceRate)) |"
)
print(
    "| publish, \(singleCallers) concurrent callers x single messages | \(rate(messageCount, rawProduce)) | \(rate(messageCount, busSinglePublish)) | \(percent(busSingleRate / rawProduceRate)) |"
)
print(
    "| consume with a group (first message to last handled) | \(rate(expected, rawConsume.seconds)) | \(rate(expected, busConsume)) | \(percent(busConsumeRate / rawConsumeRate)) |"
)
print(
    "group join: raw \(String(format3(rawConsume.joinSeconds))) s, bus subscribe+first \(String(format3(RawKafka.seconds(busFirst - subscribeStart)))) s"
)

func format3(_ value: Double) -> String {
    String(Double(Int(value * 1000)) / 1000)
}
