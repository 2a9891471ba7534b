import CKafka
import EventBus

extension RDKafkaProducer {
    /// Whether `topic` exists, from a metadata request over all topics (asking for one topic by
    /// name could make the broker auto-create it). Blocking: call it on a dedicated thread.
    func topicExists(_ topic: String, timeoutMilliseconds: Int32) throws(EventBusError) -> Bool {
        try topicLayout(topic, timeoutMilliseconds: timeoutMilliseconds) != nil
    }

    /// The partition count and replication factor of `topic` (the replicas of its first partition),
    /// or nil when the cluster does not know it; from a metadata request over all topics, so the
    /// broker never auto-creates it. Blocking: call it on a dedicated thread.
    func topicLayout(_ topic: String, timeoutMilliseconds: Int32) throws(EventBusError) -> RDKafkaTopicLayout? {
        try withHandle { handle throws(EventBusError) -> RDKafkaTopicLayout? in
            let metadata = try requestMetadata(
                handle, allTopics: true, topic: nil, timeoutMilliseconds: timeoutMilliseconds,
                while: "could not read cluster metadata")
            defer { rd_kafka_metadata_destroy(metadata) }
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let entry = metadata.pointee.topics[index]
                guard String(cString: entry.topic) == topic else { continue }
                guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
                let replicas = entry.partition_cnt > 0 ? Int(entry.partitions[0].replica_cnt) : 0
                return RDKafkaTopicLayout(partitions: Int(entry.partition_cnt), replicationFactor: replicas)
            }
            return nil
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
                throw connectionError(eventError, while: "could not create topic '\(topic)'")
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
            let metadata = try requestMetadata(
                handle, allTopics: false, topic: topicHandle, timeoutMilliseconds: timeoutMilliseconds,
                while: "could not read metadata of '\(topic)'")
            rd_kafka_metadata_destroy(metadata)
        }
    }
}
