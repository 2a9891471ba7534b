import CKafka
import EventBus
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The messages of one consume call, left in librdkafka's buffers: a handler reads a payload in
/// place and headers only if it asks for them (``readsOnDemand``).
///
/// One object stands for the whole fetch, so the poll thread allocates nothing per message for the
/// bytes; the librdkafka messages are destroyed when the last message of the fetch is released,
/// or, for messages a handler kept past its subscription, when the consumer closes
/// (``evacuate()`` copies their content out first).
///
/// Measured (2026-11-30, `perf record` over `eventbus-kafka-compare --consume-only`): copying each
/// message's payload (its copy and allocation, 9 %) and building its headers
/// (`rd_kafka_message_headers`, which allocates and frees a buffer on every call for a record
/// without headers, 16 %) were a quarter of the handling threads' time before the handler ran.
///
/// Memory: librdkafka charges a fetched message against `queued.max.messages.kbytes` only until
/// the consume call dequeues it (`rd_kafka_q_deq0` in `src/rdkafka_queue.h` subtracts its size),
/// not until it is destroyed, and each message keeps its whole fetch response buffer alive
/// (`rd_kafka_op_new_fetch_msg` keeps the `rd_kafka_buf_t`). What the bus holds is therefore
/// bounded by its own rule, not librdkafka's: at most ``RDKafkaConsumer/maxDeferredBatches``
/// fetches stay in librdkafka's buffers; beyond that the poll thread copies the content out and
/// frees the fetch at once. Reading on demand makes a fetch live until its messages are handled
/// (not only until they are copied) and as long as a handler keeps one.
///
/// Safe because: `entries` and `consumer` are set in `init` and never change; payload bytes are
/// only read (librdkafka wrote them before the consume call returned), inside the `readers` count,
/// which ``evacuate()`` waits to drain before it destroys anything; headers are parsed only under
/// `content`'s lock, because librdkafka parses a message's header list lazily and caches it in
/// the message without synchronisation; the messages are destroyed once, by ``evacuate()`` under
/// that lock, or in `deinit` if it did not.
final class RDKafkaFetchedBatch: DeferredMessageContent, @unchecked Sendable {
    /// One fetched message, and what to load ahead while it is read.
    struct Entry {
        let message: UnsafeMutablePointer<rd_kafka_message_t>
        /// The message's payload and its length, as the fetching thread read them: a payload read
        /// then needs no load of the message itself, a line another core last touched (the load
        /// of its `len` was over half of the payload read's own time in a 1,000,000-message
        /// consume profile, 2026-11-30).
        let payload: UnsafeRawPointer?
        let length: Int
        /// The entry of the message the same thread reads next from this fetch (its key maps
        /// to the same lane), or -1.
        var ahead: Int32 = -1
        /// That message's payload, read here by the fetching thread, which has it in its cache,
        /// so the reading thread can ask for the bytes without waiting for a load first.
        var aheadPayload: UnsafeRawPointer?
        var aheadLength = 0
    }

    /// The content of every message, copied out of librdkafka by ``evacuate()``.
    struct Evacuated {
        var payloads: [[UInt8]]
        var headers: [[MessageHeader]]
    }

    /// Set in `readers` once ``evacuate()`` began: payloads are read from the copies.
    private static let evacuatingBit = 1 << 62

    private let entries: [Entry]
    /// Held so the consumer's handle outlives its messages even if the consumer is dropped unclosed.
    private let consumer: RDKafkaConsumer
    /// Payload reads in progress in librdkafka's buffers, plus `evacuatingBit`.
    private let readers = Atomic<Int>(0)
    /// Header parsing and evacuation, one at a time; the copies once evacuated.
    private let content = Mutex<Evacuated?>(nil)

    /// Takes ownership of the entries' messages, which `consumer` returned; registered in its
    /// `liveBatches`.
    init(_ entries: [Entry], from consumer: RDKafkaConsumer) {
        self.entries = entries
        self.consumer = consumer
        consumer.liveBatches.register(self)
    }

    deinit {
        // First, so that the consumer's close no longer finds this batch (it evacuates under the
        // registry's lock, so it has finished with it once this returns).
        consumer.liveBatches.unregister(self)
        let evacuated = content.withLock { $0 != nil }
        guard !evacuated else { return }
        for entry in entries { rd_kafka_message_destroy(entry.message) }
        consumer.liveBatches.released()
    }

    var readsOnDemand: Bool { true }

    func content(at index: Int) -> (payload: [UInt8], headers: [MessageHeader]) {
        (payload(at: index), headers(at: index))
    }

    func payload(at index: Int) -> [UInt8] {
        withPayload(at: index) { [UInt8]($0) }
    }

    func headers(at index: Int) -> [MessageHeader] {
        content.withLock { evacuated in
            if let evacuated { return evacuated.headers[index] }
            return Self.headers(of: entries[index].message)
        }
    }

    func withPayload<Value, Failure: Error>(
        at index: Int, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        while true {
            // Wrapping: one `lock xadd`; the trapping forms compile to a compare-and-swap loop,
            // which retries while the other handling thread touches the same line.
            if readers.wrappingAdd(1, ordering: .acquiring).newValue & Self.evacuatingBit == 0 {
                defer { readers.wrappingSubtract(1, ordering: .releasing) }
                let entry = entries[index]
                if entry.ahead >= 0 { prefetch(entry) }
                return try body(UnsafeRawBufferPointer(start: entry.payload, count: entry.length))
            }
            readers.wrappingSubtract(1, ordering: .releasing)
            // Waits for the evacuation to finish; nil if it gave up (then read in place again).
            guard let payload = content.withLock({ $0?.payloads[index] }) else { continue }
            // Array's `withUnsafeBytes` rethrows untyped errors: carried out as a typed Result.
            let result = payload.withUnsafeBytes { bytes in Result { () throws(Failure) in try body(bytes) } }
            return try result.get()
        }
    }

    func readPayload(at index: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        withPayload(at: index, body)
    }

    /// Copies every message's payload and headers out of librdkafka and destroys its messages, so
    /// the consumer's handle can be destroyed while handlers still keep some of them; later reads
    /// use the copies. The consumer's `close` calls it for each batch still alive. Waits for
    /// payload reads in progress (each inside one ``withPayload(at:_:)``), at most 10 s; if one
    /// is still running then, nothing is moved and the batch stays alive.
    func evacuate() {
        let moved = content.withLock { evacuated -> Bool in
            guard evacuated == nil else { return false }
            readers.bitwiseOr(Self.evacuatingBit, ordering: .acquiringAndReleasing)
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            while readers.load(ordering: .acquiring) & ~Self.evacuatingBit != 0 {
                guard clock.now < deadline else {
                    readers.bitwiseAnd(~Self.evacuatingBit, ordering: .acquiringAndReleasing)
                    return false
                }
                sched_yield()
            }
            var copies = Evacuated(payloads: [], headers: [])
            copies.payloads.reserveCapacity(entries.count)
            copies.headers.reserveCapacity(entries.count)
            for entry in entries {
                let raw = entry.message.pointee
                copies.payloads.append(
                    raw.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? [])
                copies.headers.append(Self.headers(of: entry.message))
                rd_kafka_message_destroy(entry.message)
            }
            evacuated = copies
            return true
        }
        if moved { consumer.liveBatches.released() }
    }

    /// The headers of `message`, in wire order; the caller holds `content`'s lock.
    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [MessageHeader] {
        var headers: [MessageHeader] = []
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return headers }
        var position = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, position, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let text =
                value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self) } ?? ""
            headers.append(MessageHeader(name: name.map { String(cString: $0) } ?? "", value: text))
            position += 1
        }
        return headers
    }

    /// Starts loading what the next read on this thread will touch: its entry and up to 256
    /// payload bytes. Measured on the 2026-11-30 consume profile: the first
    /// read of a fetched message's fields and the payload copy, both loads of lines another core
    /// wrote, were 33 % of the handling threads' time.
    private func prefetch(_ entry: Entry) {
        entries.withUnsafeBufferPointer { eventbus_prefetch($0.baseAddress! + Int(entry.ahead)) }
        if let payload = entry.aheadPayload {
            var offset = 0
            while offset < min(entry.aheadLength, 256) {
                eventbus_prefetch(payload + offset)
                offset += 64
            }
        }
    }
}
