import CKafka
import EventBus
import Logging

/// Owns the producer's `rd_kafka_t`: produce, poll for delivery reports, flush, admin calls.
///
/// Safe because: librdkafka documents `rd_kafka_t` as thread-safe for every call made here, and
/// the handle is destroyed once, by whichever of ``destroy()`` and `deinit` closes `guardian`
/// first: every other call enters `guardian` before it touches the handle and leaves it after, and
/// closing waits for the calls inside to leave, so no call runs on a destroyed handle.
final class RDKafkaProducer: @unchecked Sendable {
    /// How far one ``produce(_:from:ticket:)`` call got.
    enum ProduceResult {
        /// Every message was enqueued.
        case enqueued
        /// librdkafka's local queue is full at this index; wait for deliveries and go on from there.
        case queueFull(at: Int)
        /// The message at this index was refused for good.
        case failed(at: Int, EventBusError)
    }

    private let handle: OpaquePointer
    private let context: Unmanaged<RDKafkaCallbackContext>
    private let guardian = HandleGuard()
    /// Closed by ``stopProducing()``: a produce call after it never enqueues a message that the
    /// shutdown's last flush and poll would not see (its delivery report would never be served).
    private let producing = HandleGuard()

    init(properties: [String: String], logger: Logger) throws(EventBusError) {
        let conf = try RDKafkaConfig.make(properties)
        let context = Unmanaged.passRetained(RDKafkaCallbackContext(logger: logger))
        rd_kafka_conf_set_opaque(conf, context.toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, RDKafkaCallbacks.delivery)
        rd_kafka_conf_set_log_cb(conf, RDKafkaCallbacks.log)
        rd_kafka_conf_set_error_cb(conf, RDKafkaCallbacks.error)
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            context.release()
            throw EventBusError(
                .invalidConfiguration,
                "could not create the Kafka producer: \(RDKafkaConfig.text(errorText))")
        }
        self.handle = handle
        self.context = context
        // Log lines go to the main queue, which our poll thread serves.
        rd_kafka_set_log_queue(handle, nil)
    }

    deinit {
        if guardian.close() { rd_kafka_destroy(handle) }
        context.release()
    }

    /// Destroys the handle once calls in progress have returned (blocking; librdkafka joins its
    /// threads). Later calls fail with `shutDown` or do nothing.
    func destroy() {
        if guardian.close() { rd_kafka_destroy(handle) }
    }

    private static let destroyedError = EventBusError(.shutDown, "the Kafka producer was closed")

    /// Refuses every later produce call (`shutDown`) and waits (blocking, for calls in progress
    /// only: they do not block) until the current ones returned; flush, poll and purge go on.
    func stopProducing() {
        _ = producing.close()
    }

    /// Enqueues `messages[start...]`, each carrying `ticket` for its delivery report.
    func produce(
        _ messages: [OutgoingMessage], from start: Int, ticket: UnsafeMutableRawPointer
    ) -> ProduceResult {
        guard producing.enter() else { return .failed(at: start, Self.destroyedError) }
        defer { producing.leave() }
        guard guardian.enter() else { return .failed(at: start, Self.destroyedError) }
        defer { guardian.leave() }
        var scratch: [UInt8] = []
        for index in start..<messages.count {
            let err = produce(messages[index], ticket: ticket, scratch: &scratch)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { continue }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL { return .queueFull(at: index) }
            // After a fatal error librdkafka refuses with the fatal error's own code.
            if let fatal = fatalErrorUnguarded {
                return .failed(
                    at: index,
                    EventBusError(
                        .nativeError,
                        "the Kafka producer hit a fatal error and refuses every publish; only a new bus can publish: \(fatal.name): \(fatal.reason)",
                        underlying: RDKafkaError(err)))
            }
            return .failed(at: index, RDKafkaError.translate(err, while: "produce refused"))
        }
        return .enqueued
    }

    /// The fatal error librdkafka raised on this producer, if any: an idempotent producer that
    /// lost its sequence (for example `UNKNOWN_PRODUCER_ID` after a broker forgot its producer
    /// state) fails every later produce call and cannot recover; only a new producer can publish.
    /// The error's librdkafka name (such as `UNKNOWN_PRODUCER_ID`) and its reason.
    var fatalError: (name: String, reason: String)? {
        guard guardian.enter() else { return nil }
        defer { guardian.leave() }
        return fatalErrorUnguarded
    }

    /// ``fatalError`` for callers inside the handle guard.
    private var fatalErrorUnguarded: (name: String, reason: String)? {
        var text = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &text, text.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return (RDKafkaError(code).name, RDKafkaConfig.text(text))
    }

    /// Raises a fabricated fatal error (librdkafka's `rd_kafka_test_fatal_error`), for tests of
    /// what the bus does after one.
    func raiseFatalErrorForTesting(reason: String) {
        guard guardian.enter() else { return }
        defer { guardian.leave() }
        _ = rd_kafka_test_fatal_error(handle, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, reason)
    }

    /// Since when no broker has answered (nil: reachable), and why.
    var unreachable: (since: ContinuousClock.Instant?, reason: String?) {
        context.takeUnretainedValue().unreachable.withLock { $0 }
    }

    /// Asks the cluster for its broker list, waiting at most `timeoutMilliseconds`; returns how
    /// many brokers it names, or throws why none answered. Records the outcome for ``unreachable``.
    /// Blocking: call it on a dedicated thread.
    func probeBrokers(timeoutMilliseconds: Int32) throws(EventBusError) -> Int {
        let callbacks = context.takeUnretainedValue()
        do {
            let count = try withHandle { handle throws(EventBusError) -> Int in
                // all_topics 0 and no topic: the smallest metadata request, answered with the brokers.
                let metadata = try requestMetadata(
                    handle, allTopics: false, topic: nil, timeoutMilliseconds: timeoutMilliseconds,
                    while: "no broker answered a metadata request")
                defer { rd_kafka_metadata_destroy(metadata) }
                return Int(metadata.pointee.broker_cnt)
            }
            callbacks.unreachable.withLock { $0 = (nil, nil) }
            return count
        } catch {
            callbacks.unreachable.withLock { state in
                if state.since == nil { state.since = .now }
                state.reason = error.message
            }
            throw error
        }
    }

    /// Sends a metadata request (over all topics, or for `topic`) and returns the answer, which the
    /// caller destroys. Blocking: call it on a dedicated thread.
    ///
    /// Asks in growing slices (250 ms, doubling, up to what is left of `timeoutMilliseconds`) so that
    /// a connection failure whose cause librdkafka reported meanwhile (``RDKafkaConnectionCause``:
    /// a failed ApiVersion, SASL or TLS handshake, an unknown host) ends the wait at the next slice
    /// instead of after the whole timeout; the error names that cause.
    func requestMetadata(
        _ handle: OpaquePointer, allTopics: Bool, topic: OpaquePointer?, timeoutMilliseconds: Int32,
        while operation: String
    ) throws(EventBusError) -> UnsafePointer<rd_kafka_metadata> {
        let callbacks = context.takeUnretainedValue()
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(1, timeoutMilliseconds)))
        var slice: Int64 = 250
        while true {
            let left = deadline - ContinuousClock.now
            let leftMilliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
            let wait = Int32(clamping: max(1, min(slice, leftMilliseconds)))
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle, allTopics ? 1 : 0, topic, &metadata, wait)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
                callbacks.connectionCause.withLock { $0 = nil }
                return metadata
            }
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            let known = callbacks.recentConnectionCause
            let finished = ContinuousClock.now >= deadline
            let retryable = err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT
            if finished || !retryable || (known != nil && known?.kind != .other) {
                throw connectionError(err, while: operation)
            }
            slice *= 2
        }
    }

    /// The error for a broker call that failed with `err`, naming the connection failure's cause when
    /// librdkafka reported one (``RDKafkaConnectionCause/explain(_:librdkafkaVersion:)``).
    func connectionError(_ err: rd_kafka_resp_err_t, while operation: String) -> EventBusError {
        let error = RDKafkaError.translate(err, while: operation)
        guard [.connectionFailed, .timeout].contains(error.code),
            let cause = context.takeUnretainedValue().recentConnectionCause
        else { return error }
        return cause.explain(error, librdkafkaVersion: RDKafkaConfig.runtimeVersion)
    }

    /// Serves delivery reports and log lines for up to `timeoutMilliseconds`; returns events served.
    @discardableResult
    func poll(timeoutMilliseconds: Int32) -> Int32 {
        guard guardian.enter() else { return 0 }
        defer { guardian.leave() }
        return rd_kafka_poll(handle, timeoutMilliseconds)
    }

    /// Waits (blocking) until every enqueued message was delivered or failed, or the timeout passed.
    func flush(timeoutMilliseconds: Int32) -> Bool {
        guard guardian.enter() else { return true }
        defer { guardian.leave() }
        return rd_kafka_flush(handle, timeoutMilliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Fails every message still queued or in flight; their delivery reports follow on the next poll.
    func purge() {
        guard guardian.enter() else { return }
        defer { guardian.leave() }
        _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
    }

    /// Messages enqueued whose delivery report has not been served yet.
    var outstanding: Int {
        guard guardian.enter() else { return 0 }
        defer { guardian.leave() }
        return Int(rd_kafka_outq_len(handle))
    }

    /// Runs `body` with the raw handle, for the admin calls in the `+Admin` extension.
    func withHandle<T>(_ body: (OpaquePointer) throws(EventBusError) -> T) throws(EventBusError) -> T {
        guard guardian.enter() else { throw Self.destroyedError }
        defer { guardian.leave() }
        return try body(handle)
    }

    private func produce(
        _ message: OutgoingMessage, ticket: UnsafeMutableRawPointer, scratch: inout [UInt8]
    ) -> rd_kafka_resp_err_t {
        // Header names must be NUL-terminated; names and values are laid out in one scratch buffer.
        scratch.removeAll(keepingCapacity: true)
        var spans: [(name: Int, value: Int, length: Int)] = []
        if !message.headers.isEmpty {
            spans.reserveCapacity(message.headers.count)
            for header in message.headers {
                let nameStart = scratch.count
                scratch.append(contentsOf: header.name.utf8)
                scratch.append(0)
                let valueStart = scratch.count
                scratch.append(contentsOf: header.value.utf8)
                spans.append((nameStart, valueStart, scratch.count - valueStart))
            }
        }
        let fieldCount = 5 + spans.count
        return message.topic.withCString { topic in
            message.payload.withUnsafeBytes { payload in
                scratch.withUnsafeBytes { headerBytes in
                    withKey(message.key) { key, keyLength in
                        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: fieldCount) {
                            fields in
                            var field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_TOPIC
                            field.u.cstr = topic
                            fields[0] = field
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_VALUE
                            field.u.mem.ptr = UnsafeMutableRawPointer(mutating: payload.baseAddress)
                            field.u.mem.size = payload.count
                            fields[1] = field
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_KEY
                            field.u.mem.ptr = UnsafeMutableRawPointer(mutating: key)
                            field.u.mem.size = keyLength
                            fields[2] = field
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                            field.u.i = RD_KAFKA_MSG_F_COPY
                            fields[3] = field
                            field = rd_kafka_vu_t()
                            field.vtype = RD_KAFKA_VTYPE_OPAQUE
                            field.u.ptr = ticket
                            fields[4] = field
                            let base = headerBytes.baseAddress
                            for (offset, span) in spans.enumerated() {
                                field = rd_kafka_vu_t()
                                field.vtype = RD_KAFKA_VTYPE_HEADER
                                field.u.header.name = base!.advanced(by: span.name)
                                    .assumingMemoryBound(to: CChar.self)
                                field.u.header.val = UnsafeRawPointer(base!.advanced(by: span.value))
                                field.u.header.size = span.length
                                fields[5 + offset] = field
                            }
                            guard let error = rd_kafka_produceva(handle, fields.baseAddress, fieldCount)
                            else { return RD_KAFKA_RESP_ERR_NO_ERROR }
                            let code = rd_kafka_error_code(error)
                            rd_kafka_error_destroy(error)
                            return code
                        }
                    }
                }
            }
        }
    }

    private func withKey<T>(_ key: String?, _ body: (UnsafeRawPointer?, Int) -> T) -> T {
        guard var key else { return body(nil, 0) }
        return key.withUTF8 { bytes in body(UnsafeRawPointer(bytes.baseAddress), bytes.count) }
    }
}
