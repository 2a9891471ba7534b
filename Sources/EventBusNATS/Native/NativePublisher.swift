import CNats
import Dispatch
import EventBus
import Synchronization

/// Sends JetStream publishes from one dedicated thread and has their PubAcks read by the bus.
///
/// Callers enqueue whole requests (one per `publish` call) and wait on one continuation each; the
/// thread drains everything queued at once, so concurrent publishers batch naturally, and a stall
/// at the in-flight limit blocks this thread rather than Swift's cooperative pool.
///
/// Each message goes out as a core publish with reply subject `<inbox>.<n>` (the connection's
/// inbox, `n` counted here); the server's PubAck comes back on the connection's reply
/// subscription, whose callback (``nativePublishAckHandler``) settles the message's entry in
/// ``NativeConnection/pending``. This replaces nats.c's `js_PublishMsgAsync`, whose per-message
/// bookkeeping (a pending hash map, a JSON parse into allocated fields, and every reply freed
/// through its garbage-collector thread, a futex wake a message) cost about 1.9 µs a message.
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
    private let maxPending: Int
    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    // Safe because: only the publishing thread reads and writes it.
    nonisolated(unsafe) private var lastSweep = ContinuousClock.now

    init(connection: NativeConnection, subjects: NATSSubjects, ackTimeout: Duration, maxPending: Int) {
        self.connection = connection
        self.subjects = subjects
        self.ackTimeout = ackTimeout
        self.maxPending = max(1, maxPending)
    }

    /// Buffers the publishing thread reuses for every message, so they are allocated once.
    private struct Scratch {
        /// A message's wire form (headers and payload).
        var wire: [UInt8] = []
        /// `<inbox>.<n>` and a NUL; the first `prefixCount` characters never change.
        var reply: [CChar]
        let prefixCount: Int
        /// The `n` of the next reply subject.
        var nextID: UInt64 = 1

        init(prefix: [CChar]) {
            reply = prefix
            reply.reserveCapacity(prefix.count + 21)
            prefixCount = prefix.count
        }

        /// Writes the next reply subject into `reply` and returns its number.
        mutating func nextReply() -> UInt64 {
            let id = nextID
            nextID &+= 1
            reply.removeLast(reply.count - prefixCount)
            var rest = id
            repeat {
                reply.append(CChar(UInt8(ascii: "0") + UInt8(rest % 10)))
                rest /= 10
            } while rest > 0
            reply[prefixCount...].reverse()
            reply.append(0)
            return id
        }
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
        var scratch = Scratch(prefix: connection.replyPrefix)
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
                send(request, subjectCache: &subjectCache, keylessTurn: &keylessTurn, scratch: &scratch)
            }
            // One large message must not pin its buffer for the bus's lifetime.
            if scratch.wire.capacity > 256 * 1024 { scratch.wire = [] }
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
        _ request: Request, subjectCache: inout [String: [String]], keylessTurn: inout Int, scratch: inout Scratch
    ) {
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
                message, subject: subject, limit: limit, scratch: &scratch, completion: request.completion)
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

    /// Fails publishes whose PubAck is overdue (lost in a broker restart, or never sent because the
    /// connection died with them in its buffer), so the in-flight limit is not used up by acks that
    /// will never come.
    ///
    /// Publishes not yet overdue keep waiting for their own PubAck. (nats.c's async API made us
    /// re-send those: its pending list could only be taken out whole. A message that needed that
    /// second copy now times out in its turn instead, with the same retriable error, and publishing
    /// it again is equally safe: it carries the same `Nats-Msg-Id`, so the server stores it once.)
    private func sweepOverdue() {
        lastSweep = .now
        let overdue = connection.pending.removeOverdue(ackTimeout)
        guard !overdue.isEmpty else { return }
        let timedOut = EventBusError(
            .timeout, "no PubAck within \(ackTimeout); the event may be stored, publishing it again is safe",
            isRetriable: true)
        for completion in overdue { completion.finish(error: timedOut) }
    }

    /// Builds and sends one message, its wire form built in `scratch`; returns an error only when
    /// it was not sent. `limit` is the server's `max_payload` (0 when not known).
    private func sendOne(
        _ message: OutgoingMessage, subject: String, limit: Int, scratch: inout Scratch, completion: PublishCompletion
    ) -> EventBusError? {
        let headerLength: Int?
        do throws(EventBusError) {
            headerLength = try NativeHeaders.encode(message, into: &scratch.wire)
        } catch {
            return error
        }
        // The server's max_payload bounds headers and payload together; nats.c would refuse it
        // too, but only as an untyped publish failure.
        let size = headerLength == nil ? message.payload.count : scratch.wire.count
        if limit > 0, size > limit { return NativeHeaders.oversized(size, limit: limit) }
        let id = scratch.nextReply()
        var natsMessage: OpaquePointer?
        // natsMsg_create copies subject, reply and bytes into the message's own allocation.
        func create(_ bytes: UnsafeRawBufferPointer, _ reply: UnsafeBufferPointer<CChar>) -> natsStatus {
            subject.withCString { subjectPointer in
                natsMsg_create(
                    &natsMessage, subjectPointer, Int32(subject.utf8.count), reply.baseAddress,
                    Int32(reply.count - 1), bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count),
                    Int32(headerLength ?? 0))
            }
        }
        let wire = scratch.wire
        var status = scratch.reply.withUnsafeBufferPointer { reply in
            headerLength == nil
                ? message.payload.withUnsafeBytes { create($0, reply) } : wire.withUnsafeBytes { create($0, reply) }
        }
        guard status == NATS_OK, let created = natsMessage else {
            return NativeError.make(.publishFailed, "cannot build a NATS message", status: status)
        }
        defer { releaseNativeMessage(created) }  // nats.c copies it into its buffer and keeps nothing
        // Registered before it is sent, so its PubAck always finds the entry.
        while !connection.pending.register(
            id, subject: subject, headers: message.headers, completion, limit: maxPending)
        {
            // The in-flight limit is reached: PubAcks, or the sweep failing overdue ones, free room.
            if connection.state == .closed {
                return EventBusError(.shutDown, "the NATS connection is closed", isRetriable: true)
            }
            if ContinuousClock.now - lastSweep >= .milliseconds(250) { sweepOverdue() }
            _ = connection.pending.waitUntil(atMost: maxPending - 1, timeout: .milliseconds(50))
        }
        status = natsConnection_PublishMsg(connection.connection, created)
        guard status == NATS_OK else {
            _ = connection.pending.remove(id)
            if connection.state == .closed {
                return EventBusError(.shutDown, "the NATS connection is closed", isRetriable: true)
            }
            return NativeError.make(.publishFailed, "JetStream publish failed", status: status)
        }
        return nil
    }
}
