import CNats
import EventBus
import Synchronization

/// Pulls from one durable consumer through an inbox subscription of its own, and owns every
/// message it fetched until the message is settled.
///
/// Fetched `natsMsg` handles never leave this class: callers see `ReceivedMessage` values whose
/// `deliveryTag` finds the handle again to ack, term or nak it, after which it is destroyed. What
/// is still held when the consumer goes away is destroyed in `deinit` (and so redelivered by the
/// server after the ack wait).
final class NativePullConsumer: @unchecked Sendable {  // Safe because: the subscription handle is immutable; fetch (and so `requests`) runs on one thread; deliveries sit behind a Mutex.
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

    /// One pull request the server may still be answering.
    private struct PullRequest {
        var remaining: Int
        let expiresAt: ContinuousClock.Instant
    }

    private let connection: NativeConnection
    private let subscription: OpaquePointer
    private let topic: String
    /// `$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>`: where pull requests go.
    private let nextSubject: String
    /// The inbox our pull requests name as reply subject; messages and their status arrive there.
    private let inbox: String
    private let deliveries = Mutex(Deliveries())
    /// Pull requests in the order sent; only the fetch thread touches it.
    private var requests: [PullRequest] = []
    /// The connection's reconnect count when `requests` was last known to be current.
    private var requestsReconnectCount = 0
    /// What it takes to create the durable consumer again if it vanishes from the server.
    private let stream: String
    private let subject: String
    private let durable: String
    private let settings: NATSConfiguration.ConsumerSettings
    /// Set when the server said the consumer is gone; read by health.
    private let missing = Atomic<Bool>(false)
    private var lastRecreateAttempt: ContinuousClock.Instant?
    private let recreations = Atomic<Int>(0)

    /// Creates the durable consumer when missing, then binds a pull subscription to it. Blocks.
    init(
        connection: NativeConnection, stream: String, subject: String, durable: String, topic: String,
        settings: NATSConfiguration.ConsumerSettings
    ) throws(EventBusError) {
        self.connection = connection
        self.topic = topic
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.settings = settings
        try Self.ensureConsumer(
            connection: connection, stream: stream, subject: subject, durable: durable, settings: settings)
        self.nextSubject = "$JS.API.CONSUMER.MSG.NEXT.\(stream).\(durable)"
        self.inbox = try connection.newInbox()
        var subscriptionPointer: OpaquePointer?
        let status = natsConnection_SubscribeSync(&subscriptionPointer, connection.connection, inbox)
        guard status == NATS_OK, let subscriptionPointer else {
            throw NativeError.make(
                .subscribeFailed, "cannot subscribe to the pull inbox of '\(durable)'", status: status)
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

    /// Returns the messages that have arrived, waiting up to `wait` for the first one. Blocks.
    ///
    /// Pull requests are sent here, on the inbox of our own subscription, instead of through
    /// nats.c's fetch call: that call returns only once its whole batch has arrived, so under a
    /// steady stream every message would wait for the batch to fill. Here each message is handed
    /// on as soon as it is read, and a new request of `batch` messages is sent while the earlier
    /// ones still have half a batch to deliver, so the server never waits for us to ask.
    func fetch(batch: Int, wait: Duration) -> FetchResult {
        if let error = requestIfNeeded(batch: batch, wait: wait) { return .failed(error) }
        return read(upTo: batch, waitingMilliseconds: max(1, wait.milliseconds))
    }

    /// Sends a pull request of `batch` messages unless the open ones still owe more than half a
    /// batch. Called by ``fetch(batch:wait:)``, and once before the first fetch so that a member
    /// is in the server's queue of waiting requests by the time `subscribe` returns.
    func requestIfNeeded(batch: Int, wait: Duration) -> EventBusError? {
        let now = ContinuousClock.now
        // A server that restarted forgot our requests: ask afresh instead of waiting them out.
        let reconnects = connection.events.reconnectCount
        if reconnects != requestsReconnectCount {
            requests.removeAll()
            requestsReconnectCount = reconnects
        }
        // The server ends an expired request with a 408. One that got no answer at all a second
        // later may have gone to a consumer that no longer exists: deleted while none of our
        // pulls was open, or lost with the server's state. nats-server takes such a pull on its
        // own `$JS.API.>` subscription and never answers it, not even with a `503`.
        let open = requests.count
        requests.removeAll { now >= $0.expiresAt + .seconds(1) }
        if requests.count < open, !missing.load(ordering: .relaxed),
            connection.consumerIsGone(stream: stream, name: durable, timeout: wait)
        {
            missing.store(true, ordering: .relaxed)
        }
        if missing.load(ordering: .relaxed) {
            // Created again at most once a second; until then every fetch fails (and is counted).
            if let last = lastRecreateAttempt, now - last < .seconds(1) {
                return EventBusError(.subscribeFailed, "the durable consumer '\(durable)' is gone from the server")
            }
            lastRecreateAttempt = now
            do {
                try Self.ensureConsumer(
                    connection: connection, stream: stream, subject: subject, durable: durable, settings: settings)
            } catch {
                return error
            }
            missing.store(false, ordering: .relaxed)
            requests.removeAll()
            recreations.add(1, ordering: .relaxed)
        }
        guard requests.reduce(0, { $0 + $1.remaining }) <= batch / 2 else { return nil }
        if let error = requestMessages(batch, expires: wait) { return error }
        requests.append(PullRequest(remaining: batch, expiresAt: now + wait))
        return nil
    }

    /// Returns what earlier pull requests have delivered so far, without waiting or asking for more.
    func takeArrived(upTo batch: Int) -> FetchResult {
        read(upTo: batch, waitingMilliseconds: 0)
    }

    /// Reads up to `batch` messages from the inbox, waiting up to `waitingMilliseconds` for the first.
    private func read(upTo batch: Int, waitingMilliseconds: Int64) -> FetchResult {
        var first: OpaquePointer?
        let status = natsSubscription_NextMsg(&first, subscription, waitingMilliseconds)
        guard status == NATS_OK, let first else {
            switch status {
            case NATS_TIMEOUT: return .nothing
            case NATS_CONNECTION_CLOSED, NATS_INVALID_SUBSCRIPTION:
                return .failed(NativeError.make(.nativeError, "the pull subscription is closed", status: status))
            default:
                return .failed(NativeError.make(.nativeError, "fetch failed", status: status))
            }
        }
        var handles: [OpaquePointer] = []
        var next: OpaquePointer? = first
        while let handle = next {
            if accept(handle) { handles.append(handle) } else { releaseNativeMessage(handle) }
            next = nil
            if handles.count >= batch { break }
            if natsSubscription_NextMsg(&next, subscription, 0) != NATS_OK { next = nil }
        }
        return handles.isEmpty ? .nothing : take(handles)
    }

    /// Reads the inbox until every pull request sent has ended (delivered in full, ended by the
    /// server, or expired), taking what arrives into the held messages. Blocks up to the last
    /// request's expiry.
    ///
    /// Called once fetching has stopped: a message delivered to an inbox nobody reads would only
    /// come back after the ack wait, while a held one is handed back at once by ``releaseAll()``.
    func finishRequests() {
        let grace = Duration.milliseconds(100)
        while let oldest = requests.first {
            let left = oldest.expiresAt + grace - ContinuousClock.now
            if left <= .zero {
                requests.removeFirst()
                continue
            }
            _ = read(upTo: 1024, waitingMilliseconds: max(1, min(50, left.milliseconds)))
        }
        while case .messages = read(upTo: 1024, waitingMilliseconds: 0) {}
    }

    /// Asks the server for up to `count` messages, waiting at most `expires` for them.
    private func requestMessages(_ count: Int, expires: Duration) -> EventBusError? {
        let body = "{\"batch\":\(count),\"expires\":\(max(1, expires.milliseconds) * 1_000_000)}"
        let status = natsConnection_PublishRequestString(connection.connection, nextSubject, inbox, body)
        guard status == NATS_OK else {
            return NativeError.make(.nativeError, "cannot send a pull request", status: status)
        }
        return nil
    }

    /// Books an arrived message against the pull requests; false for a status message (the end of
    /// a request, a heartbeat), which carries no data and no reply subject.
    private func accept(_ handle: OpaquePointer) -> Bool {
        if let reply = natsMsg_GetReply(handle), reply.pointee != 0 {
            if !requests.isEmpty {
                requests[0].remaining -= 1
                if requests[0].remaining <= 0 { requests.removeFirst() }
            }
            return true
        }
        let code = NativeHeaders.value("Status", of: handle)
        switch code {
        case "404", "408":
            // No messages (no_wait) or expired: the oldest request is over.
            if !requests.isEmpty { requests.removeFirst() }
        case "409":
            // The server dropped our requests (too many waiting, consumer changed): ask afresh.
            requests.removeAll()
            if NativeHeaders.value("Description", of: handle)?.lowercased().contains("consumer deleted") == true {
                missing.store(true, ordering: .relaxed)
            }
        case "503":
            // Nobody answers for the consumer: it is gone (or JetStream is away for a moment).
            requests.removeAll()
            missing.store(true, ordering: .relaxed)
        default:
            break
        }
        return false
    }

    private func take(_ handles: [OpaquePointer]) -> FetchResult {
        let count = handles.count
        var received: [ReceivedMessage] = []
        received.reserveCapacity(count)
        for handle in handles { received.append(Self.convert(handle, topic: topic)) }
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

    /// The message a handle carries, with its key from `X-Key` or `X-Aggregate-ID` and its stream
    /// sequence and delivery count from the ack subject; partition 0, delivery tag 0.
    /// With `droppingLast`, the last header of that name is left out (see ``NativeHeaders/read(_:droppingLast:)``).
    static func convert(
        _ handle: OpaquePointer, topic: String, droppingLast dropped: StaticString? = nil
    ) -> ReceivedMessage {
        let length = Int(natsMsg_GetDataLength(handle))
        var payload: [UInt8] = []
        if length > 0, let data = natsMsg_GetData(handle) {
            payload = [UInt8](UnsafeRawBufferPointer(start: data, count: length))
        }
        var headers = NativeHeaders.read(handle, droppingLast: dropped)
        let key = NativeHeaders.takeKey(from: &headers)
        let (sequence, delivered, _) = Self.position(replySubject: natsMsg_GetReply(handle))
        return ReceivedMessage(
            topic: topic, key: key, headers: headers, payload: payload, partition: 0, offset: sequence,
            deliveryCount: delivered)
    }

    /// The stream sequence and delivery count encoded in a JetStream ack subject, read in place.
    ///
    /// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`, or
    /// with `<domain>.<account hash>` after `$JS.ACK` (and a trailing token) in the newer form.
    /// Parsing it here (``NATSAckSubject``) avoids `natsMsg_GetMetaData`, which allocates four
    /// strings per message. The consumer sequence (the consumer's own count of deliveries, 1 for
    /// its very first) comes third.
    static func position(replySubject: UnsafePointer<CChar>?) -> (
        sequence: Int64, delivered: Int, consumerSequence: Int64
    ) {
        NATSAckSubject.position(replySubject)
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
        let body: StaticString =
            switch settlement {
            case .ack: "+ACK"
            case .term: "+TERM"
            case .nak: "-NAK"
            }
        var failures = 0
        for held in removed {
            if answer(held.message, body) != NATS_OK { failures += 1 }
            releaseNativeMessage(held.message)
        }
        return failures
    }

    /// Times the consumer was created again after it vanished from the server.
    var recreatedCount: Int { recreations.load(ordering: .relaxed) }
    /// Whether the consumer is gone from the server and not yet created again.
    var isConsumerMissing: Bool { missing.load(ordering: .relaxed) }

    /// Sends a JetStream acknowledgement (`+ACK`, `+TERM`, `-NAK`, `+WPI`) to a message's reply
    /// subject. nats.c's own ack calls need a subscription it created through JetStream; ours is a
    /// plain one, so the acknowledgement is published the way those calls do it.
    private func answer(_ handle: OpaquePointer, _ body: StaticString) -> natsStatus {
        guard let reply = natsMsg_GetReply(handle) else { return NATS_ILLEGAL_STATE }
        return body.withUTF8Buffer { bytes in
            natsConnection_Publish(connection.connection, reply, bytes.baseAddress, Int32(bytes.count))
        }
    }

    /// Naks and frees every message still held, oldest first (tags grow in arrival order), so the
    /// group gets them again at once and in the order they came.
    func releaseAll() {
        let tags = deliveries.withLock { $0.held.keys.sorted() }
        _ = settle(tags, as: .nak)
    }

    /// Tells the server that messages held longer than `age` are still being worked on, so it
    /// does not redeliver them while they wait in an inbox or run in a long handler.
    func sendProgress(olderThan age: Duration) {
        let now = ContinuousClock.now
        // Under the lock: a concurrent settle must not free a handle while we use it.
        deliveries.withLock { deliveries in
            for (tag, held) in deliveries.held where now - held.lastProgress >= age {
                _ = answer(held.message, "+WPI")
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
        for held in remaining { releaseNativeMessage(held.message) }
        natsSubscription_Destroy(subscription)
    }
}
