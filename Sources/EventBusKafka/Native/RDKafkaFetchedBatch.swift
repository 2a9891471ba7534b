import CKafka
import EventBus

/// The messages of one consume call, kept in librdkafka's buffers until the threads that handle
/// them copy their payload and headers out.
///
/// One object stands for the whole fetch, so the poll thread allocates nothing per message for the
/// bytes; the librdkafka messages are destroyed when the last message of the fetch is released.
///
/// Safe because: the pointers are set in `init` and never change; each message is read by the one
/// actor that handles it (its header list is parsed lazily by librdkafka, so it must not be read
/// by two threads at once, and the pool never does that); destruction happens once, in `deinit`.
final class RDKafkaFetchedBatch: DeferredMessageContent, @unchecked Sendable {
    private let messages: [UnsafeMutablePointer<rd_kafka_message_t>]
    /// Held so the consumer's handle outlives its messages even if the consumer is dropped unclosed.
    private let consumer: RDKafkaConsumer

    /// Takes ownership of `messages`, which `consumer` returned; counted in its `liveBatches`.
    init(_ messages: [UnsafeMutablePointer<rd_kafka_message_t>], from consumer: RDKafkaConsumer) {
        self.messages = messages
        self.consumer = consumer
        consumer.liveBatches.increment()
    }

    deinit {
        for message in messages { rd_kafka_message_destroy(message) }
        consumer.liveBatches.decrement()
    }

    func content(at index: Int) -> (payload: [UInt8], headers: [MessageHeader]) {
        let message = messages[index]
        let raw = message.pointee
        let payload: [UInt8] =
            raw.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
        var headers: [MessageHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var position = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, position, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let text =
                    value.map {
                        String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self)
                    } ?? ""
                headers.append(MessageHeader(name: name.map { String(cString: $0) } ?? "", value: text))
                position += 1
            }
        }
        return (payload, headers)
    }
}
