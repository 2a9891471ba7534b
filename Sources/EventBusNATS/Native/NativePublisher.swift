import CNats
import Dispatch
import EventBus
import Synchronization

/// Sends JetStream publishes, from the calling thread when that cannot block and otherwise from one
/// dedicated thread, and has their PubAcks read by the bus.
///
/// A call (one per `publish`) is sent by its caller when nothing is queued, nobody is sending, the
/// in-flight limit has room and nats.c's write buffer has room for it (``enqueue(_:subject:completion:)``):
/// then the messages are only copied into nats.c's buffer, whose flusher writes them, and the
/// publishing thread is not woken. Otherwise callers queue whole requests and the thread drains
/// everything queued at once, so concurrent publishers batch naturally, and a stall at the
/// in-flight limit or a socket write of a full buffer blocks this thread rather than Swift's
/// cooperative pool. One sender at a time (``State/holder``) and a queue taken only by the holder
/// keep calls in call order: a caller never sends while anything is queued or being sent.
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

    /// Who may send (build messages in ``Sender`` and hand them to nats.c) right now.
    private enum Holder {
        case nobody
        /// The publishing thread, with requests taken off the queue.
        case thread
        /// A caller sending its own request inline.
        case caller
    }

    private struct State {
        var queue: [Request] = []
        var holder = Holder.nobody
        var threadWaiting = false
        var closed = false
        var finished: UnsafeContinuation<Void, Never>?
        var threadDone = false
    }

    /// What building and sending needs, used only by the current ``Holder`` (so its lock is never
    /// contended; it is a lock only to hand the state between threads soundly).
    private struct Sender {
        var scratch: Scratch
        /// Each topic's partition subjects.
        var subjectCache: [String: [String]] = [:]
        var keylessTurn = 0
    }

    /// How one message's send ended.
    private enum Sent {
        case sent
        /// Not sent: it failed, and the caller is told.
        case failed(EventBusError)
        /// Not sent, and nothing of it registered: sending it now could block (inline sends only).
        case wouldBlock
    }

    private let connection: NativeConnection
    private let subjects: NATSSubjects
    private let ackTimeout: Duration
    private let maxPending: Int
    private let state = Mutex(State())
    private let sender: Mutex<Sender>
    private let wakeUp = DispatchSemaphore(value: 0)
    // Safe because: only the publishing thread reads and writes it (`sendOne` reaches it only when
    // not sending inline, which is only on that thread).
    nonisolated(unsafe) private var lastSweep = ContinuousClock.now

    init(connection: NativeConnection, subjects: NATSSubjects, ackTimeout: Duration, maxPending: Int) {
        self.connection = connection
        self.subjects = subjects
        self.ackTimeout = ackTimeout
        self.maxPending = max(1, maxPending)
        self.sender = Mutex(Sender(scratch: Scratch(prefix: connection.replyPrefix)))
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

    /// Sends `messages` behind every request queued before, to be settled in `completion` (which
    /// counts `messages.count`); a closed publisher settles them at once with `shutDown`.
    ///
    /// Returns once they are handed to nats.c or queued: when nothing is queued or being sent, the
    /// calling thread sends as many as it can without blocking (``sendInline(_:)``) and queues the
    /// rest at the head of the queue; otherwise it queues them all. Either way one sender at a
    /// time sends in queue order, so successive calls reach the server in call order on the one
    /// connection.
    func enqueue(_ messages: [OutgoingMessage], subject: String? = nil, completion: PublishCompletion) {
        enum Decision {
            case closed, inline
            case queued(signal: Bool)
        }
        let request = Request(messages: messages, subject: subject, completion: completion)
        let decision = state.withLock { state -> Decision in
            guard !state.closed else { return .closed }
            if state.queue.isEmpty, state.holder == .nobody {
                state.holder = .caller
                return .inline
            }
            state.queue.append(request)
            // A caller sending inline wakes the thread when it lets go, if anything is queued.
            let signal = state.threadWaiting && state.holder != .caller
            if signal { state.threadWaiting = false }
            return .queued(signal: signal)
        }
        switch decision {
        case .closed:
            completion.finish(count: messages.count, error: EventBusError(.shutDown, "the NATS bus was shut down"))
        case .queued(let signal):
            if signal { wakeUp.signal() }
        case .inline:
            let rest = sendInline(request)
            let signal = state.withLock { state -> Bool in
                // The rest goes first: everything queued meanwhile was called after it.
                if let rest { state.queue.insert(rest, at: 0) }
                state.holder = .nobody
                guard state.threadWaiting, !state.queue.isEmpty || state.closed else { return false }
                state.threadWaiting = false
                return true
            }
            if signal { wakeUp.signal() }
        }
    }

    /// Sends `request`'s messages from the calling thread (which holds ``State/holder`` as
    /// `.caller`) while that cannot block, and returns the part not sent, if any, for the thread.
    ///
    /// A message goes inline only if the in-flight limit has room for it (it is registered without
    /// waiting) and it fits in nats.c's write buffer with half the buffer to spare for what the
    /// connection's other users (acks, pull requests) write meanwhile, so nats.c copies it into the
    /// buffer and signals its flusher rather than writing to the socket here. nats.c still takes
    /// its connection lock, as every ack the pool's actors send does; its flusher holds that lock
    /// while it writes a buffer of at most ``NativeConnection/writeBufferSize`` bytes.
    private func sendInline(_ request: Request) -> Request? {
        let buffered = connection.buffered
        // Closed (-1): the thread reports it, as it does for everything queued.
        guard buffered >= 0 else { return request }
        var budget = NativeConnection.writeBufferSize / 2 - buffered
        let stoppedAt = sender.withLock { sender in
            send(request, from: 0, sender: &sender, inlineBudget: &budget)
        }
        guard let stoppedAt else { return nil }
        return Request(
            messages: Array(request.messages[stoppedAt...]), subject: request.subject, completion: request.completion)
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
        lastSweep = .now
        while true {
            let requests = state.withLock { state -> [Request]? in
                // A caller sending inline wakes this thread when it lets go, if anything is queued.
                if state.holder == .caller {
                    state.threadWaiting = true
                    return []
                }
                if !state.queue.isEmpty {
                    var taken: [Request] = []
                    swap(&taken, &state.queue)
                    state.holder = .thread
                    return taken
                }
                state.holder = .nobody
                if state.closed { return nil }
                state.threadWaiting = true
                return []
            }
            guard let requests else { break }
            if requests.isEmpty {
                if wakeUp.wait(timeout: .now() + .milliseconds(250)) == .timedOut {
                    state.withLock { $0.threadWaiting = false }
                }
                sweepOverdueIfDue()
                continue
            }
            sender.withLock { sender in
                var unlimited = Int.max
                for request in requests {
                    _ = send(request, from: 0, sender: &sender, inlineBudget: &unlimited)
                }
                // One large message must not pin its buffer for the bus's lifetime.
                if sender.scratch.wire.capacity > 256 * 1024 { sender.scratch.wire = [] }
            }
            sweepOverdueIfDue()
        }
        let finished = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.threadDone = true
            let finished = state.finished
            state.finished = nil
            return finished
        }
        finished?.resume()
    }

    /// Sends one call's messages from index `start` on, each to its key's partition subject
    /// (keyless ones round-robin), or all to the call's fixed subject.
    ///
    /// `inlineBudget` is `Int.max` on the publishing thread, which waits for room at the in-flight
    /// limit and lets nats.c write to the socket. Otherwise it is the bytes nats.c's write buffer
    /// may still take: a message that does not fit in it, or finds the in-flight limit reached,
    /// stops the call unsent, and the index of that message is returned (nil when the call ended).
    private func send(
        _ request: Request, from start: Int, sender: inout Sender, inlineBudget: inout Int
    ) -> Int? {
        // Read once a call: nats.c takes the connection's lock for it, which only this thread may
        // wait for; a caller sending inline takes the value the thread read last.
        let limit = inlineBudget == .max ? connection.maxPayload : connection.knownMaxPayload
        var lastTopic: String?
        var partitionSubjects: [String] = []
        for index in start..<request.messages.count {
            let message = request.messages[index]
            let subject: String
            if let fixed = request.subject {
                subject = fixed
            } else {
                if message.topic != lastTopic {
                    if let cached = sender.subjectCache[message.topic] {
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
                        if sender.subjectCache.count > 1024 { sender.subjectCache.removeAll() }
                        sender.subjectCache[message.topic] = partitionSubjects
                    }
                    lastTopic = message.topic
                }
                subject = partitionSubjects[partition(of: message, keylessTurn: &sender.keylessTurn)]
            }
            switch sendOne(
                message, subject: subject, limit: limit, scratch: &sender.scratch, completion: request.completion,
                inlineBudget: &inlineBudget)
            {
            case .sent:
                break
            case .wouldBlock:
                // Its keyless turn is taken again when it is sent.
                if request.subject == nil, message.key == nil { sender.keylessTurn &-= 1 }
                return index
            case .failed(let error):
                // Messages after a failure still go out; the call reports the first error.
                request.completion.finish(error: error)
                if error.code == .shutDown {
                    let rest = request.messages.count - index - 1
                    if rest > 0 { request.completion.finish(count: rest, error: error) }
                    return nil
                }
            }
        }
        return nil
    }

    /// The partition a message goes to: its key's, or the next in turn for a keyless one.
    private func partition(of message: OutgoingMessage, keylessTurn: inout Int) -> Int {
        if let key = message.key { return subjects.partition(forKey: key) }
        keylessTurn &+= 1
        return keylessTurn % subjects.partitions
    }

    /// Fails publishes whose PubAck is overdue (lost in a broker restart, or never sent because the
    /// connection died with them in its buffer), so the in-flight limit is not used up by acks that
    /// will never come.
    ///
    /// Publishes not yet overdue keep waiting for their own PubAck. (nats.c's async API made us
    /// re-send those: its pending list could only be taken out whole. A message that needed that
    /// second copy now times out in its turn instead, with the same retriable error, and publishing
    /// it again is equally safe: it carries the same `Nats-Msg-Id`, so the server stores it once.)
    ///
    /// Only every 250 ms: the thread is woken for every call that queues, and a sweep looks at
    /// every publish in flight under the pending table's lock (sweeping at each wake-up was 2.9 %
    /// of a NATS run's samples; `Docs/PerformanceLog.md`, "Session 13").
    private func sweepOverdueIfDue() {
        guard ContinuousClock.now - lastSweep >= .milliseconds(250) else { return }
        lastSweep = .now
        let overdue = connection.pending.removeOverdue(ackTimeout)
        guard !overdue.isEmpty else { return }
        let timedOut = EventBusError(
            .timeout, "no PubAck within \(ackTimeout); the event may be stored, publishing it again is safe",
            isRetriable: true)
        for completion in overdue { completion.finish(error: timedOut) }
    }

    /// Builds and sends one message, its wire form built in `scratch`. `limit` is the server's
    /// `max_payload` (0 when not known). With `inlineBudget` below `Int.max` (see
    /// ``send(_:from:sender:inlineBudget:)``) it neither waits for room nor sends more than the
    /// budget's bytes, and takes what it sends from the budget.
    private func sendOne(
        _ message: OutgoingMessage, subject: String, limit: Int, scratch: inout Scratch, completion: PublishCompletion,
        inlineBudget: inout Int
    ) -> Sent {
        let inline = inlineBudget != .max
        // Not even the payload fits: not worth encoding the headers to find out.
        if inline, message.payload.count >= inlineBudget { return .wouldBlock }
        let headerLength: Int?
        do throws(EventBusError) {
            headerLength = try NativeHeaders.encode(message, into: &scratch.wire)
        } catch {
            return .failed(error)
        }
        // The server's max_payload bounds headers and payload together; nats.c would refuse it
        // too, but only as an untyped publish failure.
        let size = headerLength == nil ? message.payload.count : scratch.wire.count
        if limit > 0, size > limit { return .failed(NativeHeaders.oversized(size, limit: limit)) }
        // What nats.c writes to its buffer: `HPUB <subject> <reply> <hdr> <total>\r\n`, the bytes,
        // `\r\n`; 64 covers the verb, the two lengths, spaces and line ends.
        let wireSize = size + subject.utf8.count + scratch.reply.count + 64
        if inline, wireSize > inlineBudget { return .wouldBlock }
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
            return .failed(NativeError.make(.publishFailed, "cannot build a NATS message", status: status))
        }
        defer { releaseNativeMessage(created) }  // nats.c copies it into its buffer and keeps nothing
        // Registered before it is sent, so its PubAck always finds the entry.
        while !connection.pending.register(
            id, subject: subject, headers: message.headers, completion, limit: maxPending)
        {
            // Its reply number is left unused: numbers only need to be unique.
            if inline { return .wouldBlock }
            // The in-flight limit is reached: PubAcks, or the sweep failing overdue ones, free room.
            if connection.state == .closed {
                return .failed(EventBusError(.shutDown, "the NATS connection is closed", isRetriable: true))
            }
            sweepOverdueIfDue()
            _ = connection.pending.waitUntil(atMost: maxPending - 1, timeout: .milliseconds(50))
        }
        if inline { inlineBudget -= wireSize }
        status = natsConnection_PublishMsg(connection.connection, created)
        guard status == NATS_OK else {
            _ = connection.pending.remove(id)
            if connection.state == .closed {
                return .failed(EventBusError(.shutDown, "the NATS connection is closed", isRetriable: true))
            }
            return .failed(NativeError.make(.publishFailed, "JetStream publish failed", status: status))
        }
        return .sent
    }
}
