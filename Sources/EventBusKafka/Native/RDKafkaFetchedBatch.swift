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
    /// One fetched message, and what to load ahead while it is copied.
    struct Entry {
        let message: UnsafeMutablePointer<rd_kafka_message_t>
        /// The entry of the message the same thread copies next from this fetch (its key maps
        /// to the same lane), or -1.
        var ahead: Int32 = -1
        /// That message and its payload, read here by the fetching thread, which has them in its
        /// cache, so the copying thread can ask for them without waiting for a load first.
        var aheadMessage: UnsafeMutableRawPointer?
        var aheadPayload: UnsafeRawPointer?
        var aheadLength = 0
    }

    private let entries: [Entry]
    /// Held so the consumer's handle outlives its messages even if the consumer is dropped unclosed.
    private let consumer: RDKafkaConsumer

    /// Takes ownership of the entries' messages, which `consumer` returned; counted in its
    /// `liveBatches`.
    init(_ entries: [Entry], from consumer: RDKafkaConsumer) {
        self.entries = entries
        self.consumer = consumer
        consumer.liveBatches.increment()
    }

    deinit {
        for entry in entries { rd_kafka_message_destroy(entry.message) }
        consumer.liveBatches.decrement()
    }

    func content(at index: Int) -> (payload: [UInt8], headers: [MessageHeader]) {
        let entry = entries[index]
        if entry.ahead >= 0 { prefetch(entry) }
        let message = entry.message
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

    /// Starts loading what the next copy on this thread will read: its entry, its message (two
    /// lines: librdkafka's header lookup reads past the public fields) and up to 256 payload bytes.
    /// Measured on the 2026-11-30 consume profile: the first read of a fetched message's fields
    /// and the payload copy, both loads of lines another core wrote, were 33 % of the handling
    /// threads' time.
    private func prefetch(_ entry: Entry) {
        entries.withUnsafeBufferPointer { eventbus_prefetch($0.baseAddress! + Int(entry.ahead)) }
        if let message = entry.aheadMessage {
            eventbus_prefetch(message)
            eventbus_prefetch(message + 64)
        }
        if let payload = entry.aheadPayload {
            var offset = 0
            while offset < min(entry.aheadLength, 256) {
                eventbus_prefetch(payload + offset)
                offset += 64
            }
        }
    }
}
