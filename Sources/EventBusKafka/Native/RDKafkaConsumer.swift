import CKafka
import EventBus
import Logging

/// Owns one high-level consumer's `rd_kafka_t` and its consumer queue.
///
/// Safe because: every call is made from the owning subscription's poll thread, except `deinit`,
/// which runs after that thread has finished; librdkafka's handle is thread-safe regardless.
final class RDKafkaConsumer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let queue: OpaquePointer
    private let context: Unmanaged<RDKafkaCallbackContext>
    private let topic: String
    private var batch: [UnsafeMutablePointer<rd_kafka_message_t>?]
    private var closed = false

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
    /// the way. Messages are appended to `messages` with `deliveryTag` 0.
    func poll(into messages: inout [ReceivedMessage], timeoutMilliseconds: Int32) {
        var count = batch.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress, buffer.count)
        }
        if count <= 0 {
            guard let first = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return }
            batch[0] = first
            count =
                1
                + batch.withUnsafeMutableBufferPointer { buffer in
                    max(0, rd_kafka_consume_batch_queue(queue, 0, buffer.baseAddress! + 1, buffer.count - 1))
                }
        }
        for index in 0..<count {
            guard let message = batch[index] else { continue }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    callbackContext.logger.warning(
                        "consumer error",
                        metadata: [
                            "eventbus.topic": "\(topic)",
                            "eventbus.error": "\(RDKafkaError(err))",
                        ])
                }
                continue
            }
            messages.append(convert(message))
        }
    }

    private func convert(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ReceivedMessage {
        let raw = message.pointee
        let payload: [UInt8] =
            raw.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
        let key = raw.key.map {
            String(decoding: UnsafeRawBufferPointer(start: $0, count: raw.key_len), as: UTF8.self)
        }
        var headers: [MessageHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size)
                == RD_KAFKA_RESP_ERR_NO_ERROR
            {
                let text =
                    value.map {
                        String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self)
                    } ?? ""
                headers.append(MessageHeader(name: name.map { String(cString: $0) } ?? "", value: text))
                index += 1
            }
        }
        return ReceivedMessage(
            topic: topic, key: key, headers: headers, payload: payload,
            partition: raw.partition, offset: raw.offset)
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
        let err = rd_kafka_consumer_close(handle)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            callbackContext.logger.warning(
                "consumer close reported an error", metadata: ["eventbus.error": "\(RDKafkaError(err))"])
        }
        rd_kafka_queue_destroy(queue)
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
