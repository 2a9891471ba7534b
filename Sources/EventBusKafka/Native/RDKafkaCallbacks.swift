import CKafka
import EventBus
import Logging

/// librdkafka's callbacks: top-level, capture nothing, find their context through `Unmanaged`,
/// and only copy data and hand it on.
enum RDKafkaCallbacks {
    /// Delivery report: settles the message's ``PublishCompletion`` (retained once per publish call).
    static let delivery:
        @convention(c) (
            OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?
        ) -> Void = { handle, message, _ in
            guard let message, let ticket = message.pointee._private else { return }
            let completion = Unmanaged<PublishCompletion>.fromOpaque(ticket)
            let err = message.pointee.err
            var error: EventBusError? =
                err == RD_KAFKA_RESP_ERR_NO_ERROR
                ? nil : RDKafkaError.translate(err, while: "delivery failed")
            if let failed = error, [.timeout, .connectionFailed].contains(failed.code), let handle,
                let opaque = rd_kafka_opaque(handle),
                let cause = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
                    .recentConnectionCause
            {
                // A message that timed out while no broker could be used: say why none could.
                error = cause.explain(failed, librdkafkaVersion: RDKafkaConfig.runtimeVersion)
            }
            if completion.takeUnretainedValue().settle(1, error: error) {
                // Balances the passRetained in KafkaEventBus.publish.
                completion.release()
            }
        }

    /// Log line: forwarded to swift-log at the matching syslog level.
    static let log: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void =
        { handle, level, facility, text in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque)
                .takeUnretainedValue()
            let swiftLevel: Logger.Level =
                switch level {
                case ...2: .critical
                case 3: .error
                case 4: .warning
                case 5: .notice
                case 6: .info
                default: .debug
                }
            let line = text.map { String(cString: $0) } ?? ""
            let facilityName = facility.map { String(cString: $0) } ?? ""
            context.logger.log(
                level: swiftLevel, "\(line)",
                metadata: ["eventbus.kafka.facility": "\(facilityName)"])
        }

    /// Client-level error (librdkafka reports them here instead of logging them once this is set):
    /// logged, a connection failure's cause kept for the next failed call's error
    /// (``RDKafkaConnectionCause``), and `all brokers down` marks the brokers unreachable for health.
    static let error: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void =
        { handle, err, reason, _ in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(err)))
            if let cause = RDKafkaConnectionCause.classify(code: err, text: text) {
                context.connectionCause.withLock { $0 = cause }
            }
            if err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue {
                context.unreachable.withLock { state in
                    if state.since == nil { state.since = .now }
                    state.reason = text
                }
            }
            context.logger.error(
                "librdkafka reported an error",
                metadata: ["eventbus.kafka.error": "\(text)", "eventbus.kafka.code": "\(err)"])
        }

    /// Group rebalance: tells the owner, then applies the new assignment.
    static let rebalance:
        @convention(c) (
            OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
            UnsafeMutableRawPointer?
        ) -> Void = { handle, err, partitions, opaque in
            guard let handle, let opaque else { return }
            let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            let handler = context.rebalanceHandler.withLock { $0 }
            var numbers: [Int32] = []
            if let partitions {
                for index in 0..<Int(partitions.pointee.cnt) {
                    numbers.append(partitions.pointee.elems[index].partition)
                }
            }
            let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
            switch err {
            case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                if let partitions { resolveStartOffsets(handle, partitions, context) }
                if cooperative {
                    if let error = rd_kafka_incremental_assign(handle, partitions) {
                        context.logger.error(
                            "incremental assign failed",
                            metadata: ["eventbus.error": "\(RDKafkaError.consume(error, while: "assign"))"])
                    }
                } else {
                    rd_kafka_assign(handle, partitions)
                }
                handler?(.assigned(numbers))
            case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                handler?(.revoked(numbers))
                if cooperative {
                    if let error = rd_kafka_incremental_unassign(handle, partitions) {
                        context.logger.error(
                            "incremental unassign failed",
                            metadata: ["eventbus.error": "\(RDKafkaError.consume(error, while: "unassign"))"])
                    }
                } else {
                    rd_kafka_assign(handle, nil)
                }
            default:
                context.logger.error(
                    "rebalance error", metadata: ["eventbus.error": "\(RDKafkaError(err))"])
                handler?(.revoked(numbers))
                rd_kafka_assign(handle, nil)
            }
        }

    /// Gives every assigned partition an explicit start offset (committed, else the low or high
    /// watermark per `auto.offset.reset`) before it is assigned.
    ///
    /// Left to itself librdkafka resolves logical offsets after the assignment, through a timed
    /// offset query that delayed the first fetch by about 100 ms on Tansu; resolved here, fetching
    /// starts at once and `subscribe` returns only when it has. On any error the partition keeps its
    /// logical offset and librdkafka resolves it as usual.
    static func resolveStartOffsets(
        _ handle: OpaquePointer, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        _ context: RDKafkaCallbackContext
    ) {
        let timeout = context.offsetQueryTimeoutMilliseconds
        guard rd_kafka_committed(handle, partitions, timeout) == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return
        }
        for index in 0..<Int(partitions.pointee.cnt) {
            let entry = partitions.pointee.elems[index]
            guard entry.offset < 0 else { continue }
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(
                handle, entry.topic, entry.partition, &low, &high, timeout)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                partitions.pointee.elems[index].offset = context.startFromEarliest ? low : high
            } else {
                partitions.pointee.elems[index].offset = Int64(
                    context.startFromEarliest ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END)
            }
        }
    }
}
