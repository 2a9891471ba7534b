import CKafka
import Foundation
import Histogram
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension RawKafka {
    /// What a raw paced run measured.
    struct PacedResult {
        var handled: Int
        var offeredSeconds: Double
        /// Seconds from the first due time to the last message read.
        var spanSeconds: Double
        /// Due time to read, in microseconds.
        var latencies: Histogram<UInt64>
    }

    /// Nanoseconds on the monotonic clock, the stamp both sides of a raw run read.
    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// The paced shape with nothing but librdkafka in between: one consumer per topic (each in a
    /// fresh group of its own, `fetch.wait.max.ms` as the bus's pressure target uses), each on its
    /// own thread, and a
    /// producer (the comparison's settings: acks all, idempotence, linger 5 ms) offering `rate`
    /// messages a second over the topics for `seconds`, message `k` due at `k / rate` and stamped
    /// with its due time in its first 8 bytes. Keys rotate over 1,000 aggregates. Returns once every
    /// message was read or `drainTimeout` passed after the last was due.
    static func paced(
        brokers: String, topics: [String], rate: Int, seconds: Double, payloadSize: Int, fetchWaitMilliseconds: Int,
        drainTimeout: Double = 60
    ) -> PacedResult {
        let count = max(1, Int((Double(rate) * seconds).rounded()))
        // One consumer per topic, as the bus has one per subscription; each in a group of its own,
        // so a later join never rebalances an earlier consumer while messages are due.
        let group = "paced-raw-\(monotonicNanoseconds())"
        let consumers = topics.map { topic -> OpaquePointer in
            let consumer = makeHandle(
                RD_KAFKA_CONSUMER,
                [
                    "bootstrap.servers": brokers, "group.id": "\(group)-\(topic)", "auto.offset.reset": "earliest",
                    "session.timeout.ms": "3000", "heartbeat.interval.ms": "300",
                    "fetch.wait.max.ms": String(fetchWaitMilliseconds),
                ])
            rd_kafka_poll_set_consumer(consumer)
            let list = rd_kafka_topic_partition_list_new(1)
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
            rd_kafka_subscribe(consumer, list)
            rd_kafka_topic_partition_list_destroy(list)
            return consumer
        }
        defer { for consumer in consumers { rd_kafka_destroy(consumer) } }
        // Joined before anything is due, as the bus's subscribe returns only once assigned.
        let joinDeadline = monotonicNanoseconds() + 30_000_000_000
        for consumer in consumers {
            while monotonicNanoseconds() < joinDeadline {
                var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
                rd_kafka_assignment(consumer, &assignment)
                let assigned = assignment?.pointee.cnt ?? 0
                if let assignment { rd_kafka_topic_partition_list_destroy(assignment) }
                if assigned > 0 { break }
                if let message = rd_kafka_consumer_poll(consumer, 50) { rd_kafka_message_destroy(message) }
            }
        }

        // Then a second of polling, so every partition's fetch position is established (the
        // offset lookup of a new group) before the first message is due, as on the bus.
        let settled = monotonicNanoseconds() + 1_000_000_000
        while monotonicNanoseconds() < settled {
            for consumer in consumers {
                if let message = rd_kafka_consumer_poll(consumer, 10) { rd_kafka_message_destroy(message) }
            }
        }

        let producer = makeProducer(brokers: brokers)
        defer { rd_kafka_destroy(producer) }
        // Warm the producer as the bus's is by then (metadata, the idempotent producer's ID): one
        // message per topic, stamped 0, which the readers skip.
        delivered.store(0, ordering: .relaxed)
        failed.store(0, ordering: .relaxed)
        let warmUp = [UInt8](repeating: 0, count: max(8, payloadSize))
        for topic in topics { produceOne(producer, topic: topic, key: "warm-up", payload: warmUp) }
        while delivered.load(ordering: .relaxed) + failed.load(ordering: .relaxed) < topics.count {
            rd_kafka_poll(producer, 10)
        }
        delivered.store(0, ordering: .relaxed)
        failed.store(0, ordering: .relaxed)
        let start = monotonicNanoseconds()
        let nanosPerMessage = 1e9 / Double(rate)
        let readers = consumers.indices.map { index in
            PacedReader(
                consumer: consumers[index], expected: count / topics.count + (index < count % topics.count ? 1 : 0),
                start: start, drainTimeout: drainTimeout)
        }
        for reader in readers { Thread { reader.run() }.start() }

        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: max(8, payloadSize))
        for index in 0..<count {
            let due = start + UInt64((Double(index) * nanosPerMessage).rounded())
            let now = monotonicNanoseconds()
            if now < due {
                // Serve delivery reports while waiting; then sleep off the rest.
                rd_kafka_poll(producer, 0)
                let afterPoll = monotonicNanoseconds()
                if afterPoll < due, due - afterPoll < 1_000_000_000 { usleep(UInt32((due - afterPoll) / 1000)) }
            }
            var stamp = due
            withUnsafeBytes(of: &stamp) { payload.replaceSubrange(0..<8, with: $0) }
            produceOne(
                producer, topic: topics[index % topics.count], key: "aggregate-\(index % 1000)", payload: payload)
        }
        let offered = Double(monotonicNanoseconds() - start) / 1e9
        while delivered.load(ordering: .relaxed) + failed.load(ordering: .relaxed) < count {
            rd_kafka_poll(producer, 10)
        }
        var handled = 0
        var last = start
        var latencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for (reader, consumer) in zip(readers, consumers) {
            reader.producing.store(false, ordering: .relaxed)
            reader.finished.wait()
            rd_kafka_consumer_close(consumer)
            reader.result.withLock { result in
                handled += result.count
                last = max(last, result.last)
                latencies.add(result.latencies)
            }
        }
        return PacedResult(
            handled: handled, offeredSeconds: offered, spanSeconds: Double(last - start) / 1e9, latencies: latencies)
    }

    /// Produces one message, waiting out a full queue.
    private static func produceOne(_ handle: OpaquePointer, topic: String, key: String, payload: [UInt8]) {
        var key = key
        topic.withCString { topicName in
            payload.withUnsafeBytes { value in
                key.withUTF8 { keyBytes in
                    produceOne(handle, topicName: topicName, value: value, key: UnsafeRawBufferPointer(keyBytes))
                }
            }
        }
    }
}

/// The consumer side of a raw paced run, on a thread of its own.
private final class PacedReader: @unchecked Sendable {
    // Safe because: `consumer` is used only by `run()` on the reader thread; the thread that made
    // it touches it again only after `finished` opened, when `run()` has returned. The rest is
    // immutable or synchronized (Atomic, Mutex, DispatchSemaphore).
    let consumer: OpaquePointer
    let expected: Int
    let start: UInt64
    let drainTimeout: Double
    let producing = Atomic<Bool>(true)
    let finished = DispatchSemaphore(value: 0)
    let result: Mutex<(count: Int, last: UInt64, latencies: Histogram<UInt64>)>

    init(consumer: OpaquePointer, expected: Int, start: UInt64, drainTimeout: Double) {
        self.consumer = consumer
        self.expected = expected
        self.start = start
        self.drainTimeout = drainTimeout
        self.result = Mutex(
            (0, start, Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)))
    }

    /// Reads until every expected message arrived, or nothing arrived for `drainTimeout` after
    /// producing ended.
    func run() {
        defer { finished.signal() }
        var latencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var received = 0
        var last = start
        var idleSince: UInt64?
        while received < expected {
            guard let message = rd_kafka_consumer_poll(consumer, 10) else {
                let now = RawKafka.monotonicNanoseconds()
                if !producing.load(ordering: .relaxed) {
                    let since = idleSince ?? now
                    idleSince = since
                    if now - since > UInt64(drainTimeout * 1e9) { break }
                }
                continue
            }
            idleSince = nil
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR, message.pointee.len >= 8,
                let bytes = message.pointee.payload
            {
                let now = RawKafka.monotonicNanoseconds()
                let due = bytes.loadUnaligned(as: UInt64.self)
                if due != 0 {  // 0: the producer's warm-up message
                    latencies.record(now > due ? (now - due) / 1000 : 0)
                    received += 1
                    last = now
                }
            }
            rd_kafka_message_destroy(message)
        }
        let (count, end, histogram) = (received, last, latencies)
        result.withLock { $0 = (count, end, histogram) }
    }
}
