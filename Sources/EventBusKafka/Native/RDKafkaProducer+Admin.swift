import CKafka
import EventBus

extension RDKafkaProducer {
    /// Whether `topic` exists, from a metadata request over all topics (asking for one topic by
    /// name could make the broker auto-create it). Blocking: call it on a dedicated thread.
    func topicExists(_ topic: String, timeoutMilliseconds: Int32) throws(EventBusError) -> Bool {
        try withHandle { handle throws(EventBusError) -> Bool in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw RDKafkaError.translate(err, while: "could not read cluster metadata")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let entry = metadata.pointee.topics[index]
                if String(cString: entry.topic) == topic {
                    return entry.err == RD_KAFKA_RESP_ERR_NO_ERROR
                }
            }
            return false
        }
    }

    /// Creates `topic`; an already existing topic counts as success. Blocking.
    func createTopic(
        _ topic: String, partitions: Int, replicationFactor: Int, timeoutMilliseconds: Int32
    ) throws(EventBusError) {
        try withHandle { handle throws(EventBusError) in
            var errorText = [CChar](repeating: 0, count: 512)
            guard
                let newTopic = rd_kafka_NewTopic_new(
                    topic, Int32(partitions), Int32(replicationFactor), &errorText, errorText.count)
            else {
                throw EventBusError(
                    .invalidArgument,
                    "cannot create topic '\(topic)': \(RDKafkaConfig.text(errorText))")
            }
            defer { rd_kafka_NewTopic_destroy(newTopic) }
            let queue = rd_kafka_queue_new(handle)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_request_timeout(
                options, timeoutMilliseconds, &errorText, errorText.count)
            var topics: [OpaquePointer?] = [newTopic]
            rd_kafka_CreateTopics(handle, &topics, 1, options, queue)
            guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 1000) else {
                throw EventBusError(
                    .timeout, "creating topic '\(topic)' timed out", isRetriable: true)
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RDKafkaError.translate(eventError, while: "could not create topic '\(topic)'")
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else { return }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for index in 0..<count {
                let err = rd_kafka_topic_result_error(results[index])
                if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                    throw RDKafkaError.translate(err, while: "could not create topic '\(topic)'")
                }
            }
        }
    }

    /// Loads `topic`'s partitions and leaders into the producer before the first publish, so that
    /// publish does not wait for librdkafka's lazy metadata refresh. Blocking.
    func loadMetadata(for topic: String, timeoutMilliseconds: Int32) throws(EventBusError) {
        try withHandle { handle throws(EventBusError) in
            guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else { return }
            defer { rd_kafka_topic_destroy(topicHandle) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMilliseconds)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RDKafkaError.translate(err, while: "could not read metadata of '\(topic)'")
            }
        }
    }
}
