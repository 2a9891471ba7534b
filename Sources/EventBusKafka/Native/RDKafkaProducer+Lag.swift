import CKafka
import EventBus

extension RDKafkaProducer {
    /// Reads `group`'s lag on `topic` per partition: the high watermark minus the group's committed
    /// offset. A partition without a committed offset counts from where the group would start:
    /// the low watermark when `startFromEarliest`, else the high watermark (lag 0). Blocking (a
    /// metadata request, an offset fetch through the admin API, one watermark query per
    /// partition, each bounded by `timeoutMilliseconds`): call it on a dedicated thread.
    ///
    /// `knownHighWatermarks(count)[p]`, when given (a local consumer of the group learnt it from a fetch
    /// response), is used when it is higher than the queried one: Tansu answers a "latest" offset
    /// query with the last record batch's base offset + 1, not the last offset + 1, so the query
    /// alone undercounts there; on Apache Kafka both agree, up to the cache's age.
    ///
    /// Throws `topicMismatch` when the topic does not exist.
    func consumerLag(
        topic: String, group: String, startFromEarliest: Bool, timeoutMilliseconds: Int32,
        knownHighWatermarks: (Int32) -> [Int64?] = { _ in [] }
    ) throws(EventBusError) -> [ConsumerLag.Partition] {
        try withHandle { handle throws(EventBusError) -> [ConsumerLag.Partition] in
            let partitions = try Self.partitionCount(handle, topic: topic, timeoutMilliseconds: timeoutMilliseconds)
            let committed = try Self.committedOffsets(
                handle, topic: topic, group: group, partitions: partitions, timeoutMilliseconds: timeoutMilliseconds)
            let knownHighWatermarks = knownHighWatermarks(partitions)
            var lags: [ConsumerLag.Partition] = []
            for partition in 0..<partitions {
                var low: Int64 = 0
                var queriedHigh: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(
                    handle, topic, partition, &low, &queriedHigh, timeoutMilliseconds)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw RDKafkaError.translate(
                        err, while: "could not read the watermarks of '\(topic)' [\(partition)]")
                }
                let known = Int(partition) < knownHighWatermarks.count ? knownHighWatermarks[Int(partition)] : nil
                let high = max(queriedHigh, known ?? queriedHigh)
                let start: Int64 = committed[Int(partition)] ?? (startFromEarliest ? low : high)
                lags.append(ConsumerLag.Partition(partition: partition, lag: high - start))
            }
            return lags
        }
    }

    /// The partition count of `topic` from a metadata request over all topics (asking for it by
    /// name could make the broker create it).
    private static func partitionCount(
        _ handle: OpaquePointer, topic: String, timeoutMilliseconds: Int32
    ) throws(EventBusError) -> Int32 {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw RDKafkaError.translate(err, while: "could not read cluster metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            if String(cString: entry.topic) == topic, entry.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                return entry.partition_cnt
            }
        }
        throw EventBusError(.topicMismatch, "topic '\(topic)' does not exist", field: "topic")
    }

    /// The committed offset of each partition of `topic` for `group`; nil where none is committed.
    private static func committedOffsets(
        _ handle: OpaquePointer, topic: String, group: String, partitions: Int32, timeoutMilliseconds: Int32
    ) throws(EventBusError) -> [Int64?] {
        let list = rd_kafka_topic_partition_list_new(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, partition) }
        guard let request = rd_kafka_ListConsumerGroupOffsets_new(group, list) else {
            throw EventBusError(.invalidArgument, "cannot list the offsets of group '\(group)'", field: "group")
        }
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMilliseconds, &errorText, errorText.count)
        var requests: [OpaquePointer?] = [request]
        rd_kafka_ListConsumerGroupOffsets(handle, &requests, 1, options, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 1000) else {
            throw EventBusError(
                .timeout, "listing the offsets of group '\(group)' timed out", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw RDKafkaError.translate(eventError, while: "could not list the offsets of group '\(group)'")
        }
        var offsets = [Int64?](repeating: nil, count: Int(partitions))
        guard let result = rd_kafka_event_ListConsumerGroupOffsets_result(event) else { return offsets }
        var count = 0
        guard let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count), count > 0,
            let first = groups[0]
        else { return offsets }
        if let error = rd_kafka_group_result_error(first) {
            throw RDKafkaError.translate(
                rd_kafka_error_code(error), while: "could not list the offsets of group '\(group)'")
        }
        guard let listed = rd_kafka_group_result_partitions(first) else { return offsets }
        for index in 0..<Int(listed.pointee.cnt) {
            let element = listed.pointee.elems[index]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR, element.partition >= 0,
                element.partition < partitions, element.offset >= 0
            else { continue }
            offsets[Int(element.partition)] = element.offset
        }
        return offsets
    }
}
