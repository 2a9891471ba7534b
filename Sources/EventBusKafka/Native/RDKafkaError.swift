import CKafka
import EventBus

/// A librdkafka error code with its text, kept as the `underlying` cause of an `EventBusError`.
struct RDKafkaError: Error, Sendable, CustomStringConvertible {
    /// The `rd_kafka_resp_err_t` value.
    let code: Int32
    /// librdkafka's name of the code, such as `_MSG_TIMED_OUT`.
    let name: String
    /// librdkafka's explanation.
    let text: String

    var description: String { "\(name) (\(code)): \(text)" }

    init(_ err: rd_kafka_resp_err_t) {
        code = err.rawValue
        name = String(cString: rd_kafka_err2name(err))
        text = String(cString: rd_kafka_err2str(err))
    }

    /// The one place where librdkafka error codes become `EventBusError`s.
    static func translate(_ err: rd_kafka_resp_err_t, while operation: String) -> EventBusError {
        let native = RDKafkaError(err)
        let message = "\(operation): \(native.text)"
        switch err {
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            return EventBusError(.timeout, message, isRetriable: true, underlying: native)
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
            RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
            return EventBusError(.connectionFailed, message, isRetriable: true, underlying: native)
        case RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
            return EventBusError(.publishFailed, message, isRetriable: true, underlying: native)
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
            RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
            return EventBusError(.topicMismatch, message, underlying: native)
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
            RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
            RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
            return EventBusError(.invalidArgument, message, underlying: native)
        case RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
            RD_KAFKA_RESP_ERR__DESTROY:
            return EventBusError(.shutDown, message, underlying: native)
        default:
            return EventBusError(.nativeError, message, underlying: native)
        }
    }

    /// Translates an `rd_kafka_error_t` and destroys it.
    static func consume(_ error: OpaquePointer, while operation: String) -> EventBusError {
        let code = rd_kafka_error_code(error)
        var translated = translate(code, while: operation)
        if rd_kafka_error_is_retriable(error) != 0 { translated.isRetriable = true }
        rd_kafka_error_destroy(error)
        return translated
    }
}

extension EventBusError {
    /// Whether librdkafka or the broker refused a record for its size.
    var isSizeRefusal: Bool {
        guard let native = underlying as? RDKafkaError else { return false }
        return native.code == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
            || native.code == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE.rawValue
    }
}
