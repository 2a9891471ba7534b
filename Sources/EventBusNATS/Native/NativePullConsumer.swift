import CNats
import EventBus
import Synchronization

/// Owns one pull subscription bound to a durable consumer, and every message it fetched until the
/// message is settled.
///
/// Fetched `natsMsg` handles never leave this class: callers see ``ReceivedMessage`` values whose
/// `deliveryTag` finds the handle again to ack, term or nak it, after which it is destroyed. What
/// is still held when the consumer goes away is destroyed in `deinit` (and so redelivered by the
/// server after the ack wait).
final class NativePullConsumer: @unchecked Sendable {  // Safe because: the subscription handle is immutable; fetch runs on one thread; deliveries sit behind a Mutex.
    /// A fetched message's handle and when the server last heard about it.
    private struct Held: @unchecked Sendable {  // Safe because: a handle is used by one thread at a time, always under `deliveries`' lock or after removal from it.
        let message: OpaquePointer
        var lastProgress: ContinuousClock.Instant
    }

    private struct Deliveries {
        var held: [UInt64: Held] = [:]
        var nextTag: UInt64 = 1
    }

    /// What one fetch brought.
    enum FetchResult {
        case messages([ReceivedMessage])
        case nothing
        case failed(EventBusError)
    }

    private let connection: NativeConnection
    private let subscription: OpaquePointer
    private let topic: String
    private let deliveries = Mutex(Deliveries())

    /// Creates the durable consumer when missing, then binds a pull subscription to it. Blocks.
    init(
        connection: NativeConnection, stream: String, subject: String, durable: String, topic: String,
        settings: NATSConfiguration.ConsumerSettings
    ) throws(EventBusError) {
        self.connection = connection
        self.topic = topic
        try Self.ensureConsumer(
            connection: connection, stream: stream, subject: subject, durable: durable, settings: settings)
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        options.ManualAck = true
        var subscriptionPointer: OpaquePointer?
        var jsError = jsErrCode(0)
        let status = stream.withCString { streamName in
            durable.withCString { durableName in
                options.Stream = streamName
                options.Consumer = durableName
                return js_PullSubscribe(
                    &subscriptionPointer, connection.jetStream, subject, durableName, nil, &options, &jsError)
            }
        }
        guard status == NATS_OK, let subscriptionPointer else {
            throw NativeError.make(
                .subscribeFailed, "cannot bind a pull subscription to '\(durable)'", status: status,
                jsError: jsError)
        }
        self.subscription = subscriptionPointer
    }

    private static func ensureConsumer(
        connection: NativeConnection, stream: String, subject: String, durable: String,
        settings: NATSConfiguration.ConsumerSettings
    ) throws(EventBusError) {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jsError = jsErrCode(0)
        var status = js_GetConsumerInfo(&info, connection.jetStream, stream, durable, nil, &jsError)
        if let info { jsConsumerInfo_Destroy(info) }
        if status == NATS_OK { return }
        guard status == NATS_NOT_FOUND || jsError == JSConsumerNotFoundErr else {
            throw NativeError.make(
                .subscribeFailed, "cannot look up consumer '\(durable)'", status: status, jsError: jsError)
        }
        var config = jsConsumerConfig()
        jsConsumerConfig_Init(&config)
        config.AckPolicy = js_AckExplicit
        config.DeliverPolicy = js_DeliverAll
        config.AckWait = settings.ackWait.nanoseconds
        config.MaxDeliver = Int64(settings.maxDeliver)
        config.MaxAckPending = Int64(settings.maxAckPending)
        config.MaxWaiting = 512
        jsError = jsErrCode(0)
        status = durable.withCString { durableName in
            subject.withCString { filter in
                config.Durable = durableName
                config.FilterSubject = filter
                var created: UnsafeMutablePointer<jsConsumerInfo>?
                let status = js_AddConsumer(&created, connection.jetStream, stream, &config, nil, &jsError)
                if let created { jsConsumerInfo_Destroy(created) }
                return status
            }
        }
        guard status == NATS_OK else {
            // Another member may have created it at the same moment.
            var existing: UnsafeMutablePointer<jsConsumerInfo>?
            var lookupError = jsErrCode(0)
            let lookup = js_GetConsumerInfo(&existing, connection.jetStream, stream, durable, nil, &lookupError)
            if let existing { jsConsumerInfo_Destroy(existing) }
            if lookup == NATS_OK { return }
            throw NativeError.make(
                .subscribeFailed, "cannot create consumer '\(durable)' on '\(subject)'", status: status,
                jsError: jsError)
        }
    }

    /// Fetches up to `batch` messages (more if earlier pulls left some queued). Blocks.
    ///
    /// The pull is `no_wait` with an expiry: nats-server 2.9 answers as soon as it has delivered
    /// what it holds (ending the batch early), and only when it holds nothing waits up to `wait`
    /// for the first message. So a burst's tail is never held back for a full batch, and an idle
    /// consumer still sees a new message at once.
    func fetch(batch: Int, wait: Duration) -> FetchResult {
        var request = jsFetchRequest()
        jsFetchRequest_Init(&request)
        request.Batch = Int32(clamping: batch)
        request.NoWait = true
        request.Expires = max(1, wait.milliseconds) * 1_000_000
        // nats.c 3.4.1 overruns its result array when messages left queued by an earlier pull
        // exceed half the batch (it reduces the batch by what it already took, then counts up to
        // the reduced value). Asking for at least twice what is queued keeps it in bounds.
        var queued: Int32 = 0
        if natsSubscription_GetPending(subscription, &queued, nil) == NATS_OK, queued > 0 {
            request.Batch = max(request.Batch, 2 * queued + 64)
        }
        var list = natsMsgList()
        let status = natsSubscription_FetchRequest(&list, subscription, &request)
        defer { natsMsgList_Destroy(&list) }
        if list.Count > 0 { return take(&list) }
        switch status {
        case NATS_OK, NATS_TIMEOUT, NATS_NOT_FOUND:
            return .nothing
        default:
            return .failed(NativeError.make(.nativeError, "fetch failed", status: status))
        }
    }

    private func take(_ list: inout natsMsgList) -> FetchResult {
        let count = Int(list.Count)
        guard count > 0, let messages = list.Msgs else { return .nothing }
        var received: [ReceivedMessage] = []
        received.reserveCapacity(count)
        var handles: [OpaquePointer] = []
        handles.reserveCapacity(count)
        for index in 0..<count {
            guard let handle = messages[index] else { continue }
            // Ours now: natsMsgList_Destroy skips the cleared slot.
            messages[index] = nil
            handles.append(handle)
            received.append(convert(handle))
        }
        let now = ContinuousClock.now
        let held = handles.map { Held(message: $0, lastProgress: now) }
        let firstTag = deliveries.withLock { deliveries -> UInt64 in
            let first = deliveries.nextTag
            for entry in held {
                deliveries.held[deliveries.nextTag] = entry
                deliveries.nextTag &+= 1
            }
            return first
        }
        for index in received.indices { received[index].deliveryTag = firstTag + UInt64(index) }
        return .messages(received)
    }

    private func convert(_ handle: OpaquePointer) -> ReceivedMessage {
        let length = Int(natsMsg_GetDataLength(handle))
        var payload: [UInt8] = []
        if length > 0, let data = natsMsg_GetData(handle) {
            payload = [UInt8](UnsafeRawBufferPointer(start: data, count: length))
        }
        let headers = NativeHeaders.read(handle)
        let key =
            headers[header: NativeHeaders.key] ?? headers[header: OutgoingMessage.EnvelopeHeader.aggregateID]
        let (sequence, delivered) = Self.position(replySubject: natsMsg_GetReply(handle))
        return ReceivedMessage(
            topic: topic, key: key, headers: headers, payload: payload, partition: 0, offset: sequence,
            deliveryCount: delivered)
    }

    /// The stream sequence and delivery count encoded in a JetStream ack subject, read in place.
    ///
    /// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`, or
    /// with `<domain>.<account hash>` after `$JS.ACK` (and a trailing token) in the newer form.
    /// Parsing it here avoids `natsMsg_GetMetaData`, which allocates four strings per message.
    static func position(replySubject: UnsafePointer<CChar>?) -> (sequence: Int64, delivered: Int) {
        guard let replySubject else { return (0, 1) }
        let dot = CChar(UInt8(ascii: "."))
        var tokens = 1
        var index = 0
        while replySubject[index] != 0 {
            if replySubject[index] == dot { tokens += 1 }
            index += 1
        }
        // 9 tokens: the original form; 11 or 12: with domain and account hash.
        let deliveredToken = tokens >= 11 ? 6 : 4
        var delivered: Int64 = 0
        var sequence: Int64 = 0
        var token = 0
        index = 0
        while replySubject[index] != 0 && token <= deliveredToken + 1 {
            let byte = UInt8(bitPattern: replySubject[index])
            if byte == UInt8(ascii: ".") {
                token += 1
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                let digit = Int64(byte - UInt8(ascii: "0"))
                if token == deliveredToken { delivered = delivered &* 10 &+ digit }
                if token == deliveredToken + 1 { sequence = sequence &* 10 &+ digit }
            }
            index += 1
        }
        return (sequence, max(1, Int(delivered)))
    }

    /// How a settled message is answered.
    enum Settlement {
        /// Handled: the server forgets it.
        case ack
        /// Durably dead-lettered: the server must never redeliver it.
        case term
        /// Not handled: redeliver now, to any member.
        case nak
    }

    /// Answers and frees the messages with these tags; unknown tags are ignored (settled before).
    func settle(_ tags: [UInt64], as settlement: Settlement) -> Int {
        let removed = deliveries.withLock { deliveries -> [Held] in
            var removed: [Held] = []
            removed.reserveCapacity(tags.count)
            for tag in tags {
                if let held = deliveries.held.removeValue(forKey: tag) { removed.append(held) }
            }
            return removed
        }
        var failures = 0
        for handle in removed.map(\.message) {
            let status =
                switch settlement {
                case .ack: natsMsg_Ack(handle, nil)
                case .term: natsMsg_Term(handle, nil)
                case .nak: natsMsg_Nak(handle, nil)
                }
            if status != NATS_OK { failures += 1 }
            natsMsg_Destroy(handle)
        }
        return failures
    }

    /// Naks and frees every message still held, so the group gets them again at once.
    func releaseAll() {
        let tags = deliveries.withLock { Array($0.held.keys) }
        _ = settle(tags, as: .nak)
    }

    /// Tells the server that messages held longer than `age` are still being worked on, so it
    /// does not redeliver them while they wait in an inbox or run in a long handler.
    func sendProgress(olderThan age: Duration) {
        let now = ContinuousClock.now
        // Under the lock: a concurrent settle must not free a handle while we use it.
        deliveries.withLock { deliveries in
            for (tag, held) in deliveries.held where now - held.lastProgress >= age {
                _ = natsMsg_InProgress(held.message, nil)
                deliveries.held[tag]?.lastProgress = now
            }
        }
    }

    /// Messages fetched and not yet settled.
    var heldCount: Int { deliveries.withLock { $0.held.count } }

    deinit {
        let remaining = deliveries.withLock { deliveries -> [Held] in
            let held = Array(deliveries.held.values)
            deliveries.held.removeAll()
            return held
        }
        for held in remaining { natsMsg_Destroy(held.message) }
        natsSubscription_Destroy(subscription)
    }
}
