import CNats
import Dispatch
import EventBus
import Synchronization

/// Sends publishes through nats.c's asynchronous JetStream API from one dedicated thread.
///
/// Callers enqueue whole requests (one per `publish` call) and wait on one continuation each; the
/// thread drains everything queued at once, so concurrent publishers batch naturally, and a stall
/// at the in-flight limit blocks this thread rather than Swift's cooperative pool. Completion is
/// counted in the PubAck callback (see ``nativePublishAckHandler``).
final class NativePublisher: Sendable {
    /// One `publish` call: its messages, an optional subject for all of them, its completion.
    struct Request: Sendable {
        var messages: [OutgoingMessage]
        var subject: String?
        var completion: PublishCompletion
    }

    private struct State {
        var queue: [Request] = []
        var threadWaiting = false
        var closed = false
        var finished: UnsafeContinuation<Void, Never>?
        var threadDone = false
    }

    private let connection: NativeConnection
    private let subjects: NATSSubjects
    private let ackTimeout: Duration
    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    // Safe because: only the publishing thread reads and writes it.
    nonisolated(unsafe) private var lastSweep = ContinuousClock.now

    init(connection: NativeConnection, subjects: NATSSubjects, ackTimeout: Duration) {
        self.connection = connection
        self.subjects = subjects
        self.ackTimeout = ackTimeout
    }

    /// Starts the publishing thread.
    func start() {
        NativeThread.start(name: "eventbus.nats.publish") { self.runLoop() }
    }

    /// Publishes `messages` (to `subject` if given, else to their topics' subjects) and returns
    /// once every one was acknowledged or failed.
    func publish(_ messages: [OutgoingMessage], subject: String? = nil) async throws(EventBusError) {
        guard !messages.isEmpty else { return }
        let completion = PublishCompletion(count: messages.count)
        enqueue(messages, subject: subject, completion: completion)
        if let error = await completion.wait() { throw error }
    }

    /// Queues `messages` behind every request queued before, to be settled in `completion` (which
    /// counts `messages.count`); a closed publisher settles them at once with `shutDown`.
    ///
    /// Returns once they are queued: the one publishing thread sends its queue in order, so
    /// successive calls reach the server in call order on the one connection.
    func enqueue(_ messages: [OutgoingMessage], subject: String? = nil, completion: PublishCompletion) {
        let (accepted, signal) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            state.queue.append(Request(messages: messages, subject: subject, completion: completion))
            let signal = state.threadWaiting
            state.threadWaiting = false
            return (true, signal)
        }
        if !accepted {
            completion.finish(count: messages.count, error: EventBusError(.shutDown, "the NATS bus was shut down"))
        } else if signal {
            wakeUp.signal()
        }
    }

    /// Publishes what is queued, then stops the thread; returns when it has stopped.
    func close() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let (done, signal) = state.withLock { state -> (Bool, Bool) in
                state.closed = true
                if state.threadDone { return (true, false) }
                state.finished = continuation
                let signal = state.threadWaiting
                state.threadWaiting = false
                return (false, signal)
            }
            if signal { wakeUp.signal() }
            if done { continuation.resume() }
        }
    }

    /// Publishes in flight, for health.
    var inFlight: Int { connection.pending.count }

    private func runLoop() {
        var subjectCache: [String: [String]] = [:]
        var keylessTurn = 0
        // Every message's wire form is built in this one array, so it is allocated once.
        var wire: [UInt8] = []
        lastSweep = .now
        while true {
            let requests = state.withLock { state -> [Request]? in
                if !state.queue.isEmpty {
                    var taken: [Request] = []
                    swap(&taken, &state.queue)
                    return taken
                }
                if state.closed { return nil }
                state.threadWaiting = true
                return []
            }
            guard let requests else { break }
            if requests.isEmpty {
                if wakeUp.wait(timeout: .now() + .milliseconds(250)) == .timedOut {
                    state.withLock { $0.threadWaiting = false }
                }
                sweepOverdue()
                continue
            }
            for request in requests {
                send(request, subjectCache: &subjectCache, keylessTurn: &keylessTurn, wire: &wire)
            }
            // One large message must not pin its buffer for the bus's lifetime.
            if wire.capacity > 256 * 1024 { wire = [] }
            if ContinuousClock.now - lastSweep >= .milliseconds(250) { sweepOverdue() }
        }
        let finished = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.threadDone = true
            let finished = state.finished
            state.finished = nil
            return finished
        }
        finished?.resume()
    }

    /// Sends one call's messages, each to its key's partition subject (keyless ones round-robin),
    /// or all to the call's fixed subject.
    private func send(
        _ request: Request, subjectCache: inout [String: [String]], keylessTurn: inout Int, wire: inout [UInt8]
    ) {
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        // Read once a call: nats.c takes the connection's lock for it.
        let limit = connection.maxPayload
        var lastTopic: String?
        var partitionSubjects: [String] = []
        for (index, message) in request.messages.enumerated() {
            let subject: String
            if let fixed = request.subject {
                subject = fixed
            } else {
                if message.topic != lastTopic {
                    if let cached = subjectCache[message.topic] {
                        partitionSubjects = cached
                    } else {
                        do throws(EventBusError) {
                            partitionSubjects = try (0..<subjects.partitions).map { partition throws(EventBusError) in
                                try subjects.subject(forTopic: message.topic, partition: partition)
                            }
                        } catch {
                            request.completion.finish(error: error)
                            continue
                        }
                        if subjectCache.count > 1024 { subjectCache.removeAll() }
                        subjectCache[message.topic] = partitionSubjects
                    }
                    lastTopic = message.topic
                }
                let partition: Int
                if let key = message.key {
                    partition = subjects.partition(forKey: key)
                } else {
                    keylessTurn &+= 1
                    partition = keylessTurn % subjects.partitions
                }
                subject = partitionSubjects[partition]
            }
            if let error = sendOne(
                message, subject: subject, limit: limit, wire: &wire, options: &options,
                completion: request.completion)
            {
                // Messages after a failure still go out; the call reports the first error.
                request.completion.finish(error: error)
                if error.code == .shutDown {
                    let rest = request.messages.count - index - 1
                    if rest > 0 { request.completion.finish(count: rest, error: error) }
                    return
                }
            }
        }
    }

    /// Fails publishes whose PubAck is overdue (lost in a broker restart) and re-sends the others
    /// nats.c still held, so its in-flight limit is not used up by acks that will never come.
    ///
    /// Only runs the expensive part when something is overdue. nats.c hands back every pending
    /// message at once; the ones not yet overdue go out again with the same `Nats-Msg-Id`, so the
    /// server drops a copy it already stored.
    private func sweepOverdue() {
        lastSweep = .now
        guard connection.pending.hasOverdue(ackTimeout) else { return }
        var list = natsMsgList()
        guard js_PublishAsyncGetPendingList(&list, connection.jetStream) == NATS_OK else { return }
        defer { natsMsgList_Destroy(&list) }
        let timedOut = EventBusError(
            .timeout, "no PubAck within \(ackTimeout); the event may be stored, publishing it again is safe",
            isRetriable: true)
        for index in 0..<Int(list.Count) {
            guard let message = list.Msgs[index] else { continue }
            if let completion = connection.pending.removeIfOverdue(message, ackTimeout) {
                completion.finish(error: timedOut)
                continue  // destroyed with the list
            }
            var resend: OpaquePointer? = message
            if js_PublishMsgAsync(connection.jetStream, &resend, nil) == NATS_OK {
                list.Msgs[index] = nil  // nats.c owns it again
            } else if let completion = connection.pending.remove(message) {
                completion.finish(error: NativeError.make(.publishFailed, "re-sending failed", status: NATS_ERR))
            }
        }
    }

    /// Builds and sends one message, its wire form built in `wire`; returns an error only when
    /// nats.c did not take it. `limit` is the server's `max_payload` (0 when not known).
    private func sendOne(
        _ message: OutgoingMessage, subject: String, limit: Int, wire: inout [UInt8], options: inout jsPubOptions,
        completion: PublishCompletion
    ) -> EventBusError? {
        let headerLength: Int?
        do throws(EventBusError) {
            headerLength = try NativeHeaders.encode(message, into: &wire)
        } catch {
            return error
        }
        // The server's max_payload bounds headers and payload together; nats.c would refuse it
        // too, but only as an untyped publish failure.
        let size = headerLength == nil ? message.payload.count : wire.count
        if limit > 0, size > limit { return NativeHeaders.oversized(size, limit: limit) }
        var natsMessage: OpaquePointer?
        // natsMsg_create copies the bytes into the message's own allocation.
        func create(_ bytes: UnsafeRawBufferPointer) -> natsStatus {
            subject.withCString { subjectPointer in
                natsMsg_create(
                    &natsMessage, subjectPointer, Int32(subject.utf8.count), nil, 0,
                    bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count),
                    Int32(headerLength ?? 0))
            }
        }
        var status = headerLength == nil ? message.payload.withUnsafeBytes(create) : wire.withUnsafeBytes(create)
        guard status == NATS_OK, let created = natsMessage else {
            return NativeError.make(.publishFailed, "cannot build a NATS message", status: status)
        }
        connection.pending.register(created, completion)
        while true {
            status = js_PublishMsgAsync(connection.jetStream, &natsMessage, &options)
            // NATS_TIMEOUT here means the in-flight limit stalled us: acks (or their timeouts) free room.
            guard status == NATS_TIMEOUT, natsMessage != nil else { break }
            if connection.state == .closed { break }
            // Acks lost in an outage never free room by themselves.
            if ContinuousClock.now - lastSweep >= .milliseconds(250) { sweepOverdue() }
        }
        guard status == NATS_OK else {
            _ = connection.pending.remove(created)
            natsMsg_Destroy(natsMessage)
            if connection.state == .closed {
                return EventBusError(.shutDown, "the NATS connection is closed", isRetriable: true)
            }
            return NativeError.make(.publishFailed, "JetStream publish failed", status: status)
        }
        return nil
    }
}
