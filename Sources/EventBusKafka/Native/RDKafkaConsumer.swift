import CKafka
import EventBus
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owns one high-level consumer's `rd_kafka_t` and its consumer queue.
///
/// Safe because: every call is made from the owning subscription's poll thread, except `deinit`,
/// which runs after that thread has finished, and ``cachedHighWatermarks(partitions:)``, which
/// reads no Swift state but `handle` (immutable), enters `guardian` (so `close` waits for it before
/// destroying the handle) and calls a librdkafka function documented as thread-safe.
final class RDKafkaConsumer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let queue: OpaquePointer
    private let context: Unmanaged<RDKafkaCallbackContext>
    private let topic: String
    private var batch: [UnsafeMutablePointer<rd_kafka_message_t>?]
    /// The messages of the last poll without an error, until ``take(into:lanes:lane:)``.
    private var fetched: [UnsafeMutablePointer<rd_kafka_message_t>] = []
    /// Per lane, the last message of the fetch being taken (scratch of ``take(into:lanes:lane:)``).
    private var lastOfLane: [Int] = []
    private var closed = false
    private let guardian = HandleGuard()
    /// Fetched batches whose messages are not destroyed yet; `close` destroys the handle only
    /// after they are gone (it moves what handlers still keep out of librdkafka first).
    let liveBatches = RDKafkaLiveBatches()
    /// Fetches whose content may stay in librdkafka's buffers at once; beyond this the poll thread
    /// copies. Bounds what stuck handlers, or handlers that keep messages, can pin to this many
    /// fetches of `pollBatchSize` (librdkafka's own `queued.max.messages.kbytes` stops counting a
    /// message once it is consumed: see ``RDKafkaFetchedBatch``).
    static let maxDeferredBatches = 32

    /// The context callbacks reach; the owner installs its rebalance handler here.
    var callbackContext: RDKafkaCallbackContext { context.takeUnretainedValue() }

    init(
        topic: String, properties: [String: String], batchSize: Int, startFromEarliest: Bool,
        offsetQueryTimeoutMilliseconds: Int32, logger: Logger
    ) throws(EventBusError) {
        let conf = try RDKafkaConfig.make(properties)
        let context = Unmanaged.passRetained(
            RDKafkaCallbackContext(
                logger: logger, startFromEarliest: startFromEarliest,
                offsetQueryTimeoutMilliseconds: offsetQueryTimeoutMilliseconds))
        rd_kafka_conf_set_opaque(conf, context.toOpaque())
        rd_kafka_conf_set_log_cb(conf, RDKafkaCallbacks.log)
        rd_kafka_conf_set_rebalance_cb(conf, RDKafkaCallbacks.rebalance)
        rd_kafka_conf_set_error_cb(conf, RDKafkaCallbacks.error)
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            context.release()
            throw EventBusError(
                .invalidConfiguration,
                "could not create the Kafka consumer: \(RDKafkaConfig.text(errorText))")
        }
        // Logs, errors and rebalances are all served by the poll thread's consume calls.
        rd_kafka_set_log_queue(handle, nil)
        rd_kafka_poll_set_consumer(handle)
        self.handle = handle
        self.queue = rd_kafka_queue_get_consumer(handle)
        self.context = context
        self.topic = topic
        self.batch = Array(repeating: nil, count: batchSize)
    }

    deinit {
        if !closed {
            rd_kafka_consumer_close(handle)
            rd_kafka_queue_destroy(queue)
            rd_kafka_destroy(handle)
        }
        context.release()
    }

    /// Joins the group for the topic.
    func subscribe() throws(EventBusError) {
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        let err = rd_kafka_subscribe(handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw RDKafkaError.translate(err, while: "could not subscribe to '\(topic)'")
        }
    }

    /// Takes what is already fetched, up to a batch, without waiting; when nothing is, waits up to
    /// `timeoutMilliseconds` for the next message (a batch call with a timeout would wait for the
    /// batch to fill, adding that wait to every message's latency). Serves rebalances and logs on
    /// the way. Returns how many messages it took; ``take(into:lanes:lane:)`` must hand them out before
    /// the next poll.
    func poll(timeoutMilliseconds: Int32) -> Int {
        precondition(fetched.isEmpty, "a poll's messages were not taken")
        var count = batch.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress, buffer.count)
        }
        if count <= 0 {
            guard let first = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return 0 }
            batch[0] = first
            count =
                1
                + batch.withUnsafeMutableBufferPointer { buffer in
                    max(0, rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress! + 1, buffer.count - 1))
                }
        }
        // Built in a local: each access to a stored property of this class in the loop is a
        // dynamic exclusivity check (`swift_beginAccess`/`swift_endAccess`, a thread-local access
        // set): 5-7 % of the poll thread in the 2026-11-30 consume profiles, with `take`'s.
        var fetched: [UnsafeMutablePointer<rd_kafka_message_t>] = []
        fetched.reserveCapacity(Int(count))
        defer { self.fetched = fetched }
        let batch = self.batch
        for index in 0..<Int(count) {
            guard let message = batch[index] else { continue }
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                fetched.append(message)
                continue
            }
            rd_kafka_message_destroy(message)
            if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                callbackContext.logger.warning(
                    "consumer error",
                    metadata: [
                        "eventbus.topic": "\(topic)",
                        "eventbus.error": "\(RDKafkaError(err))",
                    ])
            }
        }
        return fetched.count
    }

    /// Appends the messages of the last ``poll(timeoutMilliseconds:)`` to `messages`, with delivery
    /// tag 0 for the owner to set, and each one's lane to `lanes` (-1 for a keyless message).
    ///
    /// `lane` says which thread (a small index) copies a keyed message's content, messages of one
    /// lane being copied in fetch order: each copy then starts loading the next one of its lane.
    /// The owner passes the pool's actor choice, so `lanes` is also where each message goes.
    func take(into messages: inout [ReceivedMessage], lanes: inout [Int], lane: (String) -> Int) {
        guard !fetched.isEmpty else { return }
        // Only what routing and offset tracking need is read here; payload and headers are read
        // when a handler asks. One slow or kept message keeps its whole fetch alive, so once many
        // fetches are pinned that way, new ones are copied here and freed at once.
        let copyNow = liveBatches.live >= Self.maxDeferredBatches
        // Locals, not this class's properties, in the loops (see `poll`): the scratch is swapped
        // out and back, the fetched pointers moved out.
        let fetched = self.fetched
        self.fetched = []
        let topic = self.topic
        var lastOfLane: [Int] = []
        swap(&lastOfLane, &self.lastOfLane)
        defer { swap(&lastOfLane, &self.lastOfLane) }
        var entries: [RDKafkaFetchedBatch.Entry] = []
        entries.reserveCapacity(fetched.count)
        var keys: [String?] = []
        keys.reserveCapacity(fetched.count)
        lanes.reserveCapacity(lanes.count + fetched.count)
        for (index, message) in fetched.enumerated() {
            // The keys lie in the fetch response another core received; ask for them a few
            // messages ahead (the message structs were just read by the consume call).
            if index + 4 < fetched.count, let key = fetched[index + 4].pointee.key { eventbus_prefetch(key) }
            let raw = message.pointee
            entries.append(
                RDKafkaFetchedBatch.Entry(
                    message: message, payload: UnsafeRawPointer(raw.payload), length: raw.payload == nil ? 0 : raw.len))
            let key = raw.key.map {
                String(decoding: UnsafeRawBufferPointer(start: $0, count: raw.key_len), as: UTF8.self)
            }
            keys.append(key)
            guard let key else {
                lanes.append(-1)
                continue
            }
            let laneIndex = lane(key)
            lanes.append(laneIndex)
            if laneIndex >= lastOfLane.count {
                lastOfLane.append(contentsOf: repeatElement(-1, count: laneIndex - lastOfLane.count + 1))
            }
            let previous = lastOfLane[laneIndex]
            if previous >= 0 {
                entries[previous].ahead = Int32(index)
                entries[previous].aheadPayload = UnsafeRawPointer(raw.payload)
                entries[previous].aheadLength = raw.len
            }
            lastOfLane[laneIndex] = index
        }
        for index in lastOfLane.indices { lastOfLane[index] = -1 }
        let content = RDKafkaFetchedBatch(entries, from: self)
        messages.reserveCapacity(messages.count + fetched.count)
        for index in fetched.indices {
            let raw = fetched[index].pointee
            // Appended as built and changed in place: a local copy would cost a retain and a
            // release of each reference the message holds.
            messages.append(
                ReceivedMessage(
                    topic: topic, key: keys[index], partition: raw.partition, offset: raw.offset,
                    deferredContent: content, index: index))
            if copyNow { messages[messages.count - 1].takeDeferredContent() }
        }
        // The fetch owns the pointers now (taken out above); the next poll sizes a new list to
        // what it takes.
    }

    /// The high watermark of each of `partitions` as librdkafka last learnt it from a fetch
    /// response (no broker request); nil where it knows none. Callable from any thread; empty
    /// once the consumer is closing.
    func cachedHighWatermarks(partitions: Int32) -> [Int64?] {
        guard guardian.enter() else { return [] }
        defer { guardian.leave() }
        return (0..<max(0, partitions)).map { partition -> Int64? in
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_get_watermark_offsets(handle, topic, partition, &low, &high)
            return err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
        }
    }

    /// Stops fetching from `partitions` (backpressure); messages already fetched stay valid.
    func pause(_ partitions: [Int32]) {
        withPartitionList(partitions) { rd_kafka_pause_partitions(handle, $0) }
    }

    /// Fetches from `partitions` again.
    func resume(_ partitions: [Int32]) {
        withPartitionList(partitions) { rd_kafka_resume_partitions(handle, $0) }
    }

    /// Commits `offsets` (partition → next offset to read); synchronously when `wait` is true.
    func commit(_ offsets: [(partition: Int32, offset: Int64)], wait: Bool) throws(EventBusError) {
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for entry in offsets {
            rd_kafka_topic_partition_list_add(list, topic, entry.partition).pointee.offset = entry.offset
        }
        let err = rd_kafka_commit(handle, list, wait ? 0 : 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw RDKafkaError.translate(err, while: "offset commit failed")
        }
    }

    /// Leaves the group (revoking partitions through the rebalance handler) and frees the handle,
    /// so librdkafka's threads and sockets are gone when the subscription's close returns. Blocking;
    /// no other method may be called afterwards.
    func close() {
        guard !closed else { return }
        closed = true
        _ = guardian.close()
        let err = rd_kafka_consumer_close(handle)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            callbackContext.logger.warning(
                "consumer close reported an error", metadata: ["eventbus.error": "\(RDKafkaError(err))"])
        }
        rd_kafka_queue_destroy(queue)
        // Messages handed out must be destroyed before the handle. The pool has finished when this
        // runs, but handlers may keep messages: their content is copied out of librdkafka and
        // their librdkafka messages destroyed here. Should a batch still be alive after that (a
        // payload read that did not end, or a batch being freed on another thread), this waits;
        // leaking the handle is the safe choice if it does not end.
        liveBatches.evacuateAll()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while liveBatches.live > 0 && clock.now < deadline { usleep(1000) }
        if liveBatches.live > 0 {
            callbackContext.logger.error(
                "fetched messages outlived the consumer; its handle is not freed",
                metadata: ["eventbus.topic": "\(topic)", "eventbus.batches": "\(liveBatches.live)"])
            return
        }
        rd_kafka_destroy(handle)
    }

    private func withPartitionList(
        _ partitions: [Int32], _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> rd_kafka_resp_err_t
    ) {
        guard !partitions.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions {
            rd_kafka_topic_partition_list_add(list, topic, partition)
        }
        let err = body(list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            callbackContext.logger.warning(
                "pause/resume failed", metadata: ["eventbus.error": "\(RDKafkaError(err))"])
        }
    }
}
