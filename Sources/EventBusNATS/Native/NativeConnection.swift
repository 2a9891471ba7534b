import CNats
import EventBus
import Logging
import Synchronization

/// Owns the nats.c options, connection and JetStream context of one bus, and frees them in order.
///
/// All state is set in `init` and only read afterwards; nats.c's connection and JetStream context
/// are thread-safe, so sharing the handles across threads is sound.
final class NativeConnection: @unchecked Sendable {  // Safe because: handles are immutable after init and nats.c locks internally.
    /// The connection's state as health reports it.
    enum State: String, Sendable {
        case connected, connecting, reconnecting, disconnected, draining, closed
    }

    private let options: OpaquePointer
    /// The `natsConnection`; only the native layer's classes use it.
    let connection: OpaquePointer
    let jetStream: OpaquePointer
    let pending: NativePendingPublishes
    /// `<inbox>.` in C characters, without a NUL: publishes name `<inbox>.<n>` as reply subject.
    let replyPrefix: [CChar]
    /// The subscription on `<inbox>.*` whose callback reads every PubAck.
    private let replySubscription: OpaquePointer
    let events: NativeConnectionEvents
    private let closed = Atomic<Bool>(false)

    /// Connects (blocking: call from a dedicated thread), opens the JetStream context, and
    /// subscribes the reply inbox whose PubAcks settle entries of `pending`.
    init(configuration: NATSConfiguration, pending: NativePendingPublishes) throws(EventBusError) {
        self.pending = pending
        self.events = NativeConnectionEvents(logger: configuration.logger)
        var optionsPointer: OpaquePointer?
        var status = natsOptions_Create(&optionsPointer)
        guard status == NATS_OK, let options = optionsPointer else {
            throw NativeError.make(.nativeError, "natsOptions_Create failed", status: status)
        }
        self.options = options
        let servers = NativeCStrings(configuration.servers)
        status = servers.withArray { natsOptions_SetServers(options, $0, $1) }
        if status == NATS_OK { status = natsOptions_SetName(options, configuration.name) }
        switch configuration.credentials {
        case .none: break
        case .userPassword(let user, let password):
            if status == NATS_OK { status = natsOptions_SetUserInfo(options, user, password) }
        case .token(let token):
            if status == NATS_OK { status = natsOptions_SetToken(options, token) }
        }
        let reconnect = configuration.reconnect
        if status == NATS_OK { status = natsOptions_SetAllowReconnect(options, true) }
        if status == NATS_OK { status = natsOptions_SetMaxReconnect(options, Int32(reconnect.maxReconnects)) }
        if status == NATS_OK { status = natsOptions_SetReconnectWait(options, reconnect.wait.milliseconds) }
        if status == NATS_OK { status = natsOptions_SetReconnectBufSize(options, Int32(reconnect.bufferSize)) }
        // nats.c's default, set here so that the publisher knows the size it checks room against.
        if status == NATS_OK { status = natsOptions_SetIOBufSize(options, Int32(Self.writeBufferSize)) }
        // nats.c writes to the socket holding its connection lock, which every publish, ack and
        // pull (some on Swift's cooperative pool) takes; without a deadline a server that stops
        // reading holds it until the connection dies. A write stalled as long as the PubAck timeout
        // only leads to timeouts, so past that nats.c fails it and reconnects.
        if status == NATS_OK {
            status = natsOptions_SetWriteDeadline(options, max(1, configuration.publish.ackTimeout.milliseconds))
        }
        if status == NATS_OK && reconnect.retryOnFailedConnect {
            status = natsOptions_SetRetryOnFailedConnect(options, true, nil, nil)
        }
        // Retained for nats.c's callbacks: the closed callback, always the last, may run after this
        // object is gone, so it releases this retain; a failed connect releases it below.
        let eventsPointer = Unmanaged.passRetained(events).toOpaque()
        if status == NATS_OK {
            status = natsOptions_SetDisconnectedCB(
                options,
                { _, closure in
                    NativeConnectionEvents.from(closure)?.record(.disconnected)
                }, eventsPointer)
        }
        if status == NATS_OK {
            status = natsOptions_SetReconnectedCB(
                options,
                { connection, closure in
                    let events = NativeConnectionEvents.from(closure)
                    // The new server may announce another max_payload; nats.c holds no lock here.
                    events?.maxPayload.store(Int(natsConnection_GetMaxPayload(connection)), ordering: .relaxed)
                    events?.record(.connected)
                }, eventsPointer)
        }
        if status == NATS_OK {
            status = natsOptions_SetClosedCB(
                options,
                { _, closure in
                    guard let closure else { return }
                    let events = Unmanaged<NativeConnectionEvents>.fromOpaque(closure)
                    events.takeUnretainedValue().record(.closed)
                    events.release()  // balances the passRetained above
                }, eventsPointer)
        }
        guard status == NATS_OK else {
            natsOptions_Destroy(options)
            Unmanaged<NativeConnectionEvents>.fromOpaque(eventsPointer).release()  // no callback will run
            throw NativeError.make(.invalidConfiguration, "NATS options rejected", status: status)
        }
        var connectionPointer: OpaquePointer?
        status = natsConnection_Connect(&connectionPointer, options)
        // NATS_NOT_YET_CONNECTED: retryOnFailedConnect keeps trying in the background.
        guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED, let connection = connectionPointer else {
            natsOptions_Destroy(options)
            Unmanaged<NativeConnectionEvents>.fromOpaque(eventsPointer).release()  // no callback will run
            throw NativeConnectFailure.error(
                status: status, text: NativeError.lastErrorText(status), servers: configuration.servers)
        }
        self.connection = connection
        var jsPointer: OpaquePointer?
        // No PublishAsync options: the bus sends publishes itself and reads their PubAcks on its
        // own reply subscription (below), sparing nats.c's async-publish machinery per message.
        status = natsConnection_JetStream(&jsPointer, connection, nil)
        guard status == NATS_OK, let jetStream = jsPointer else {
            natsConnection_Destroy(connection)
            natsOptions_Destroy(options)
            throw NativeError.make(.nativeError, "cannot open a JetStream context", status: status)
        }
        do throws(EventBusError) {
            let (prefix, subscription) = try Self.subscribeReplies(
                connection: connection, pending: pending, maxPending: configuration.publish.maxPending)
            replyPrefix = prefix
            replySubscription = subscription
        } catch {
            jsCtx_Destroy(jetStream)
            natsConnection_Destroy(connection)
            natsOptions_Destroy(options)
            throw error
        }
        self.jetStream = jetStream
        _ = maxPayload  // known from here on (0 if the first connect is still being retried)
        events.record(.connected)
    }

    /// Subscribes `<inbox>.*` for PubAcks with ``nativePublishAckHandler`` on its own nats.c
    /// thread, and returns `<inbox>.` and the subscription.
    ///
    /// At most `maxPending` publishes wait for a reply, so the subscription's message limit is
    /// raised to hold that many (nats.c would drop replies beyond its default 65536 as a slow
    /// consumer, and their publishes would time out).
    private static func subscribeReplies(
        connection: OpaquePointer, pending: NativePendingPublishes, maxPending: Int
    ) throws(EventBusError) -> ([CChar], OpaquePointer) {
        var inboxPointer: UnsafeMutablePointer<natsInbox>?
        guard natsInbox_Create(&inboxPointer) == NATS_OK, let inboxPointer else {
            throw NativeError.make(.nativeError, "cannot create the PubAck inbox", status: NATS_NO_MEMORY)
        }
        let inbox = String(cString: inboxPointer)
        natsInbox_Destroy(inboxPointer)
        // Retained for the callback; released by the subscription's completion callback, which
        // nats.c runs after the last message callback, or below when subscribing fails.
        let closure = Unmanaged.passRetained(pending).toOpaque()
        var subscriptionPointer: OpaquePointer?
        var status = natsConnection_Subscribe(
            &subscriptionPointer, connection, inbox + ".*", nativePublishAckHandler, closure)
        guard status == NATS_OK, let subscription = subscriptionPointer else {
            Unmanaged<NativePendingPublishes>.fromOpaque(closure).release()  // no callback will run
            throw NativeError.make(.nativeError, "cannot subscribe the PubAck inbox", status: status)
        }
        status = natsSubscription_SetOnCompleteCB(
            subscription,
            { closure in
                guard let closure else { return }
                Unmanaged<NativePendingPublishes>.fromOpaque(closure).release()  // balances passRetained
            }, closure)
        if status == NATS_OK {
            status = natsSubscription_SetPendingLimits(subscription, Int32(clamping: max(65536, 2 * maxPending)), -1)
        }
        guard status == NATS_OK else {
            // The completion callback may or may not be set: leak the one retain rather than risk a
            // double release.
            natsSubscription_Destroy(subscription)
            throw NativeError.make(.nativeError, "cannot set up the PubAck inbox", status: status)
        }
        return (Array((inbox + ".").utf8CString.dropLast()), subscription)
    }

    /// A new unique inbox subject (`_INBOX.<nuid>`), to name as reply subject of pull requests.
    func newInbox() throws(EventBusError) -> String {
        var pointer: UnsafeMutablePointer<natsInbox>?
        guard natsInbox_Create(&pointer) == NATS_OK, let pointer else {
            throw NativeError.make(.subscribeFailed, "cannot create an inbox", status: NATS_NO_MEMORY)
        }
        defer { natsInbox_Destroy(pointer) }
        return String(cString: pointer)
    }

    /// The largest message (headers and payload) the server accepts, from its INFO (`max_payload`,
    /// 1 MiB by default); 0 while never connected.
    ///
    /// nats.c takes the connection's lock to read it, which its flusher holds while it writes to
    /// the socket, without a deadline: with a server that stopped reading, until the connection
    /// fails. So only the publishing thread reads it here; Swift's cooperative pool reads
    /// ``knownMaxPayload``.
    var maxPayload: Int {
        let limit = Int(natsConnection_GetMaxPayload(connection))
        events.maxPayload.store(limit, ordering: .relaxed)
        return limit
    }

    /// ``maxPayload`` as last read (at connect, at every reconnect, and by the publishing thread
    /// for every call it sends), without taking nats.c's lock; 0 while not known.
    var knownMaxPayload: Int { events.maxPayload.load(ordering: .relaxed) }

    /// The size of nats.c's write buffer, in bytes (its default, 32 KiB): a publish that fits in
    /// what the buffer holds besides ``buffered`` is copied into it; one that does not makes the
    /// publishing thread write the buffer to the socket first.
    static let writeBufferSize = 32 * 1024

    /// Bytes nats.c holds in its write buffer, not yet written to the socket (while reconnecting,
    /// in its reconnect buffer); -1 once the connection is closed.
    var buffered: Int { Int(natsConnection_Buffered(connection)) }

    /// The connection's current state.
    var state: State {
        switch natsConnection_Status(connection) {
        case NATS_CONN_STATUS_CONNECTED: .connected
        case NATS_CONN_STATUS_CONNECTING: .connecting
        case NATS_CONN_STATUS_RECONNECTING: .reconnecting
        case NATS_CONN_STATUS_DISCONNECTED: .disconnected
        case NATS_CONN_STATUS_DRAINING_SUBS, NATS_CONN_STATUS_DRAINING_PUBS: .draining
        default: .closed
        }
    }

    /// Makes one round trip to the server (`PING`, answered by `PONG`) waiting at most `timeout`,
    /// and returns how long it took; throws `timeout` when no `PONG` came (a paused or wedged
    /// server keeps the TCP connection, so nats.c still reports it connected) and
    /// `connectionFailed` while disconnected. Blocks: call from a dedicated thread.
    func roundTrip(timeout: Duration) throws(EventBusError) -> Duration {
        let start = ContinuousClock.now
        let status = natsConnection_FlushTimeout(connection, max(1, timeout.milliseconds))
        guard status == NATS_OK else {
            throw NativeError.make(
                .timeout, "no PONG from the server within \(timeout.milliseconds) ms", status: status)
        }
        return ContinuousClock.now - start
    }

    /// Waits up to `timeout` for every outstanding publish to be acknowledged (or failed). Blocks.
    func waitForPublishes(timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        while !pending.waitUntil(atMost: 0, timeout: deadline - .now) {
            if ContinuousClock.now >= deadline { return }
        }
    }

    /// Closes the connection; blocks while nats.c flushes. Calling it twice is harmless.
    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        natsConnection_Close(connection)
    }

    deinit {
        close()
        natsSubscription_Destroy(replySubscription)
        jsCtx_Destroy(jetStream)
        natsConnection_Destroy(connection)
        natsOptions_Destroy(options)
    }
}
