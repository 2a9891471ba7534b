import CKafka
import EventBusPressureKit
import Synchronization

/// The raw librdkafka client the comparison measures against: the same calls a C program makes,
/// with no bus in between.
enum RawKafka {
    /// Delivery reports counted by the raw producer's callback.
    static let delivered = Atomic<Int>(0)
    /// Delivery failures counted by the raw producer's callback.
    static let failed = Atomic<Int>(0)

    static func makeHandle(
        _ type: rd_kafka_type_t, _ properties: [String: String], setup: (OpaquePointer) -> Void = { _ in }
    ) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            guard rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK
            else { fatalError("raw client rejected \(name)=\(value)") }
        }
        setup(conf)
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            fatalError("rd_kafka_new failed")
        }
        return handle
    }

    /// Creates `topic` with `partitions` partitions (already existing is fine).
    static func createTopic(brokers: String, topic: String, partitions: Int32) {
        let handle = makeHandle(RD_KAFKA_PRODUCER, ["bootstrap.servers": brokers])
        defer { rd_kafka_destroy(handle) }
        var errorText = [CChar](repeating: 0, count: 512)
        let newTopic = rd_kafka_NewTopic_new(topic, partitions, 1, &errorText, errorText.count)
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(handle, &topics, 1, nil, queue)
        if let event = rd_kafka_queue_poll(queue, 10_000) { rd_kafka_event_destroy(event) }
    }

    /// Produces `count` messages with delivery reports (polling as it goes, then flushing) and
    /// returns the elapsed seconds from the first produce to the last delivery report.
    static func makeProducer(brokers: String) -> OpaquePointer {
        makeHandle(
            RD_KAFKA_PRODUCER,
            [
                "bootstrap.servers": brokers, "acks": "all", "enable.idempotence": "true",
                "linger.ms": "5", "partitioner": "murmur2_random",
                "queue.buffering.max.messages": "1000000",
            ]
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                if message!.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    RawKafka.delivered.add(1, ordering: .relaxed)
                } else {
                    RawKafka.failed.add(1, ordering: .relaxed)
                }
            }
        }
    }

    static func destroy(_ handle: OpaquePointer) { rd_kafka_destroy(handle) }

    static func produce(
        _ handle: OpaquePointer, topic: String, count: Int, payload: [UInt8], keys: [String]
    ) -> Double {
        delivered.store(0, ordering: .relaxed)
        failed.store(0, ordering: .relaxed)
        let clock = ContinuousClock()
        let start = clock.now
        topic.withCString { topicName in
            payload.withUnsafeBytes { value in
                for index in 0..<count {
                    var key = keys[index % keys.count]
                    key.withUTF8 { keyBytes in
                        produceOne(handle, topicName: topicName, value: value, key: UnsafeRawBufferPointer(keyBytes))
                    }
                    if index & 1023 == 0 { rd_kafka_poll(handle, 0) }
                }
            }
        }
        while delivered.load(ordering: .relaxed) + failed.load(ordering: .relaxed) < count {
            rd_kafka_poll(handle, 10)
        }
        let elapsed = clock.now - start
        precondition(failed.load(ordering: .relaxed) == 0, "raw deliveries failed")
        return seconds(elapsed)
    }

    /// Produces one message with `RD_KAFKA_MSG_F_COPY`, polling out a full queue; the callers convert
    /// topic, value and key once for as many messages as share them.
    static func produceOne(
        _ handle: OpaquePointer, topicName: UnsafePointer<CChar>, value: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer
    ) {
        var fields = (rd_kafka_vu_t(), rd_kafka_vu_t(), rd_kafka_vu_t(), rd_kafka_vu_t())
        fields.0.vtype = RD_KAFKA_VTYPE_TOPIC
        fields.0.u.cstr = topicName
        fields.1.vtype = RD_KAFKA_VTYPE_VALUE
        fields.1.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
        fields.1.u.mem.size = value.count
        fields.2.vtype = RD_KAFKA_VTYPE_KEY
        fields.2.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
        fields.2.u.mem.size = key.count
        fields.3.vtype = RD_KAFKA_VTYPE_MSGFLAGS
        fields.3.u.i = RD_KAFKA_MSG_F_COPY
        while true {
            let failure = withUnsafePointer(to: &fields) {
                $0.withMemoryRebound(to: rd_kafka_vu_t.self, capacity: 4) { rd_kafka_produceva(handle, $0, 4) }
            }
            guard let error = failure else { return }
            let code = rd_kafka_error_code(error)
            rd_kafka_error_destroy(error)
            guard code == RD_KAFKA_RESP_ERR__QUEUE_FULL else { fatalError("raw produce failed: \(code)") }
            rd_kafka_poll(handle, 1)
        }
    }

    /// Consumes `count` messages as a member of `group`, reading every payload byte
    /// (``PayloadChecksum``) as the bus side's handler does; returns seconds from the first message
    /// to the last, the process's CPU seconds over the same span, and the time the group took to
    /// start delivering.
    ///
    /// Offsets are tracked and committed the way a consumer that handles each message before
    /// polling the next may: librdkafka stores each returned message's offset and commits every
    /// `commitIntervalMilliseconds`, the bus's commit interval. `fetchWaitMilliseconds` is the bus's
    /// `fetch.wait.max.ms`.
    static func consume(
        brokers: String, topic: String, group: String, count: Int, commitIntervalMilliseconds: Int,
        fetchWaitMilliseconds: Int
    ) -> (seconds: Double, cpuSeconds: Double, joinSeconds: Double) {
        let handle = makeHandle(
            RD_KAFKA_CONSUMER,
            [
                "bootstrap.servers": brokers, "group.id": group, "auto.offset.reset": "earliest",
                "session.timeout.ms": "3000", "heartbeat.interval.ms": "300",
                "auto.commit.interval.ms": String(commitIntervalMilliseconds),
                "fetch.wait.max.ms": String(fetchWaitMilliseconds),
            ])
        defer { rd_kafka_destroy(handle) }
        rd_kafka_poll_set_consumer(handle)
        let list = rd_kafka_topic_partition_list_new(1)
        rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        rd_kafka_subscribe(handle, list)
        rd_kafka_topic_partition_list_destroy(list)
        let clock = ContinuousClock()
        let subscribed = clock.now
        var first: ContinuousClock.Instant?
        var firstCPU = 0.0
        var received = 0
        while received < count {
            guard let message = rd_kafka_consumer_poll(handle, 100) else { continue }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if first == nil {
                    first = clock.now
                    firstCPU = ProcessResources.cpuSeconds()
                }
                received += 1
                PayloadChecksum.verify(
                    UnsafeRawBufferPointer(start: message.pointee.payload, count: message.pointee.len))
            }
            rd_kafka_message_destroy(message)
        }
        let end = clock.now
        let cpu = ProcessResources.cpuSeconds() - firstCPU
        rd_kafka_consumer_close(handle)
        return (seconds(end - first!), cpu, seconds(first! - subscribed))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (whole, fraction) = duration.components
        return Double(whole) + Double(fraction) / 1e18
    }
}
