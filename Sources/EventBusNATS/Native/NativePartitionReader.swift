import CNats
import DequeModule
import EventBus
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One group member's view of a topic's partition consumers (its "lanes": one durable consumer per
/// partition plus one for the topic's plain subject), read through a single inbox subscription.
///
/// Pull requests for lane `i` name `<inbox>.<i>` as reply subject, so every arrival says which lane
/// it belongs to, status messages included. Messages of a lane this member owns are tracked by
/// stream sequence and held (their `natsMsg` never leaves this class) until their outcomes form a
/// contiguous run from the oldest: then the run's last message is acked, which with the consumers'
/// `all` ack policy acknowledges the whole run, and the run's handles are freed. So the consumer's
/// ack floor is always exactly what this member finished, which is where the next owner resumes.
///
/// Group membership travels on a plain subject of its own (`alive`, `hello`, `leave` lines).
final class NativePartitionReader: @unchecked Sendable {
    // Safe because: the subscriptions and names are immutable after init; `lanes` (book-keeping
    // shared with the pool's actors, which settle) sits behind a Mutex and every use of a held
    // handle happens under that lock or after its removal; `epochCounter` is only touched by
    // `own(lane:)`, `incarnations` only by `requestPull`, `read` and `recreateConsumer`, and
    // `readScratch` only by `read`, all of which only the member's fetch thread calls (see
    // NATSPartitionedSubscription).

    /// A held message: where it is (its read's batch, which it keeps alive until it is acknowledged
    /// or handed back), its stream sequence and when the server last heard about it.
    private struct Held {
        let sequence: Int64
        let batch: NativeFetchedBatch
        let index: Int
        var lastProgress: ContinuousClock.Instant

        var message: OpaquePointer { batch.handle(at: index) }
    }

    /// What this member knows of one lane's deliveries.
    private struct Book {
        /// Bumped whenever this member starts owning the lane; messages carry it as delivery tag.
        var epoch: UInt64 = 0
        /// Whether messages arriving on the lane are this member's to handle.
        var current = false
        var tracker = ContiguousOffsetTracker()
        var held: Deque<Held> = []
        /// The message that answered this member's claim, kept until it owns the lane or lets go.
        var claim: Held?
        /// The claim's pin, and the messages that arrived after the claim under that pin (a claim
        /// asking for more than one message), in arrival order.
        var claimPin: String?
        var followers: [Held] = []

        /// The claim and what followed it, in arrival order.
        var claimed: [Held] { (claim.map { [$0] } ?? []) + followers }
    }

    /// What one read brought for one lane.
    enum Arrival {
        /// Messages of an owned lane, tracked and held.
        case messages([ReceivedMessage])
        /// The first message on a lane this member does not take messages from yet, carrying the
        /// pin that makes this member the lane's pinned client. It is kept until ``own(lane:)`` or
        /// ``dropClaim(lane:)``. `first` says the consumer never delivered anything before it, so
        /// nothing can be waiting for an ack elsewhere and no reset is needed.
        case claimed(lane: Int, pin: String, first: Bool)
        /// A status answer to one of the lane's pull requests (`404`, `408`, `409`, `423`, and
        /// `503` when nobody answers for the lane's consumer), with its description.
        case status(lane: Int, code: String, description: String)
    }

    private let connection: NativeConnection
    private let inboxSubscription: OpaquePointer
    private let membershipSubscription: OpaquePointer
    private let inbox: String
    let stream: String
    let topic: String
    /// The durable consumer of each lane.
    let consumerNames: [String]
    /// The subject each lane's consumer filters on.
    private let filters: [String]
    private let priorityGroup: String
    private let settings: NATSConfiguration.ConsumerSettings
    /// Per lane, the stream sequence of the last message this member acknowledged, if any.
    private let acknowledged: Mutex<[Int64?]>
    /// Messages taken off a lane's held list to be acknowledged whose ack is not yet sent (and
    /// `acknowledged` not yet moved); ``heldCount`` counts them, so it reaches 0 only once they are
    /// acknowledged. Added to under the `books` lock, subtracted after the ack.
    private let acking = Atomic<Int>(0)
    /// Where pull requests for each lane go.
    private let nextSubjects: [String]
    let membershipSubject: String
    private let books: Mutex<[Book]>
    private var epochCounter: UInt64 = 0
    /// Per lane, whether its consumer had never delivered a message when this member subscribed.
    let freshAtStart: [Bool]
    /// Per lane, how often this member created the lane's consumer again. Pull requests name it in
    /// their reply subject, `<inbox>.<lane>.<incarnation>`, so a status answering a request to a
    /// consumer that has since been created again is told apart and dropped: nats-server answers
    /// every open pull of a deleted consumer `409 Consumer Deleted`, and under load the second of
    /// two such answers arrived after the member had already created the consumer again, which
    /// then counted as vanished a second time (health `degraded` for up to a second, an owned lane
    /// dropped; seen once in 36 runs of `NATSEventBusTests`, 2026-11-30).
    private var incarnations: [UInt32]
    /// The data messages of the read in progress, kept between reads so its storage is allocated
    /// once: grown from empty on every read it was reallocated about six times a read of ~38
    /// messages (0.1 µs a message of the fetch threads' time, 2026-11-30, perf).
    private var readScratch: [(lane: Int, handle: OpaquePointer)] = []

    /// Creates (or checks) every lane's consumer and subscribes to the inbox and the membership
    /// subject. Blocks.
    init(
        connection: NativeConnection, stream: String, topic: String, lanes: [(consumer: String, filter: String)],
        membershipSubject: String, priorityGroup: String, settings: NATSConfiguration.ConsumerSettings
    ) throws(EventBusError) {
        self.connection = connection
        self.stream = stream
        self.topic = topic
        self.membershipSubject = membershipSubject
        var fresh: [Bool] = []
        for lane in lanes {
            let state = try connection.ensureLaneConsumer(
                stream: stream, name: lane.consumer, filter: lane.filter, group: priorityGroup, settings: settings)
            fresh.append(state?.neverDelivered ?? false)
        }
        self.freshAtStart = fresh
        self.consumerNames = lanes.map(\.consumer)
        self.filters = lanes.map(\.filter)
        self.priorityGroup = priorityGroup
        self.settings = settings
        self.acknowledged = Mutex(Array(repeating: nil, count: lanes.count))
        self.nextSubjects = lanes.map { "$JS.API.CONSUMER.MSG.NEXT.\(stream).\($0.consumer)" }
        self.books = Mutex(Array(repeating: Book(), count: lanes.count))
        self.incarnations = Array(repeating: 0, count: lanes.count)
        self.inbox = try connection.newInbox()
        var subscription: OpaquePointer?
        var status = natsConnection_SubscribeSync(&subscription, connection.connection, inbox + ".*.*")
        guard status == NATS_OK, let subscription else {
            throw NativeError.make(.subscribeFailed, "cannot subscribe to the pull inbox", status: status)
        }
        self.inboxSubscription = subscription
        var membership: OpaquePointer?
        status = natsConnection_SubscribeSync(&membership, connection.connection, membershipSubject)
        guard status == NATS_OK, let membership else {
            natsSubscription_Destroy(subscription)
            throw NativeError.make(.subscribeFailed, "cannot subscribe to \(membershipSubject)", status: status)
        }
        self.membershipSubscription = membership
        // Make sure the server has both subscriptions before anyone is told this member exists.
        _ = natsConnection_FlushTimeout(connection.connection, 5000)
    }

    deinit {
        // Held messages are freed with their batches, once no received message refers to them.
        books.withLock { books in
            for index in books.indices { books[index] = Book() }
        }
        natsSubscription_Destroy(inboxSubscription)
        natsSubscription_Destroy(membershipSubscription)
    }

    var laneCount: Int { consumerNames.count }

    // MARK: Membership

    /// Publishes one membership line.
    func announce(_ line: String) {
        _ = natsConnection_PublishString(connection.connection, membershipSubject, line)
    }

    /// The membership lines that arrived, without waiting.
    func membershipLines() -> [String] {
        var lines: [String] = []
        // Asked first, as in `read`: the fetch loop calls this on every pass, and a NextMsg that
        // finds nothing formats an error text.
        var queued: Int32 = 0
        var bytes: Int32 = 0
        guard natsSubscription_GetPending(membershipSubscription, &queued, &bytes) == NATS_OK, queued > 0 else {
            return lines
        }
        var message: OpaquePointer?
        while queued > 0, natsSubscription_NextMsg(&message, membershipSubscription, 0) == NATS_OK,
            let handle = message
        {
            queued -= 1
            let length = Int(natsMsg_GetDataLength(handle))
            if let data = natsMsg_GetData(handle) {
                lines.append(
                    String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self))
            }
            releaseNativeMessage(handle)
            message = nil
        }
        return lines
    }

    // MARK: Pulling

    /// Asks lane `lane`'s consumer for up to `batch` messages within `expires`, as pinned client
    /// `pin` (nil: as a candidate for the pin). Returns nil or the failure.
    func requestPull(lane: Int, batch: Int, expires: Duration, group: String, pin: String?) -> EventBusError? {
        var body = "{\"batch\":\(batch),\"expires\":\(max(1, expires.milliseconds) * 1_000_000),\"group\":\"\(group)\""
        if let pin { body += ",\"id\":\"\(pin)\"" }
        body += "}"
        let status = natsConnection_PublishRequestString(
            connection.connection, nextSubjects[lane], "\(inbox).\(lane).\(incarnations[lane])", body)
        guard status == NATS_OK else {
            return NativeError.make(.nativeError, "cannot send a pull request", status: status)
        }
        return nil
    }

    /// Reads what arrived on the inbox, waiting up to `waitingMilliseconds` for the first arrival,
    /// and at most `limit` messages. Blocks.
    func read(waitingMilliseconds: Int64, limit: Int) -> (arrivals: [Arrival], failure: EventBusError?) {
        var first: OpaquePointer?
        let status = natsSubscription_NextMsg(&first, inboxSubscription, waitingMilliseconds)
        guard status == NATS_OK, let first else {
            if status == NATS_TIMEOUT { return ([], nil) }
            return ([], NativeError.make(.nativeError, "reading the pull inbox failed", status: status))
        }
        var arrivals: [Arrival] = []
        var owned: [(lane: Int, handle: OpaquePointer)] = []
        swap(&owned, &readScratch)
        defer {
            owned.removeAll(keepingCapacity: true)
            swap(&owned, &readScratch)
        }
        var next: OpaquePointer? = first
        var count = 0
        // Messages nats.c said it holds queued and not yet taken by this read.
        var queued: Int32 = 0
        while let handle = next {
            count += 1
            if let reply = natsMsg_GetReply(handle), reply.pointee != 0 {
                owned.append((dataLane(of: handle), handle))
            } else if let (lane, incarnation) = Self.statusOrigin(of: handle), lane < laneCount {
                // An answer to a request of a consumer since created again says nothing of this one.
                if incarnation == incarnations[lane] {
                    arrivals.append(
                        .status(
                            lane: lane, code: NativeHeaders.value("Status", of: handle) ?? "",
                            description: NativeHeaders.value("Description", of: handle) ?? ""))
                }
                releaseNativeMessage(handle)
            } else {
                releaseNativeMessage(handle)
            }
            next = nil
            if count >= limit { break }
            // Only what is queued already: asking nats.c for a message when none is queued
            // returns NATS_TIMEOUT after formatting its error text (`nats_setErrorReal`, 0.08 µs a
            // message of the fetch threads' time when every read ended that way, 2026-11-30, perf).
            if queued == 0 {
                var bytes: Int32 = 0
                guard natsSubscription_GetPending(inboxSubscription, &queued, &bytes) == NATS_OK, queued > 0 else {
                    break
                }
            }
            queued -= 1
            if natsSubscription_NextMsg(&next, inboxSubscription, 0) != NATS_OK { next = nil }
        }
        if !owned.isEmpty { arrivals.append(contentsOf: take(owned)) }
        return (arrivals, nil)
    }

    /// Books data messages: tracked and held for owned lanes, handed back (or reported as claims)
    /// for the others. The messages stay in one batch that their received messages read from on
    /// demand (``NativeFetchedBatch``), so nothing is copied here but each message's key.
    private func take(_ handles: [(lane: Int, handle: OpaquePointer)]) -> [Arrival] {
        let batch = NativeFetchedBatch(handles.map(\.handle))
        var claims: [Arrival] = []
        var strays: [OpaquePointer] = []
        let now = ContinuousClock.now
        // Read before taking the lock (the first touch of each message, a load of lines nats.c's
        // reader thread wrote): the pool's actors settle outcomes under the same lock.
        let positions = handles.map { NativePullConsumer.position(replySubject: natsMsg_GetReply($0.handle)) }
        // The messages taken for owned lanes: index into `handles` and the lane's epoch.
        var taken: [(index: Int, epoch: UInt64)] = []
        taken.reserveCapacity(handles.count)
        books.withLock { books in
            for (index, (lane, handle)) in handles.enumerated() {
                let sequence = positions[index].sequence
                guard books[lane].current else {
                    let pin = batch.pin(at: index)
                    if books[lane].claim == nil, let pin {
                        let position = positions[index]
                        books[lane].claim = Held(sequence: sequence, batch: batch, index: index, lastProgress: now)
                        books[lane].claimPin = pin
                        claims.append(
                            .claimed(
                                lane: lane, pin: pin, first: position.consumerSequence == 1 && position.delivered == 1))
                    } else if let pin, pin == books[lane].claimPin {
                        // More of the same claim: kept in arrival order behind it until the lane is
                        // owned (then handled after it) or let go (then handed back after it).
                        books[lane].followers.append(
                            Held(sequence: sequence, batch: batch, index: index, lastProgress: now))
                    } else {
                        strays.append(handle)
                    }
                    continue
                }
                guard books[lane].tracker.track(sequence) else {
                    // Not after what is tracked: a stale redelivery, which the consumer's reset made moot.
                    strays.append(handle)
                    continue
                }
                books[lane].held.append(Held(sequence: sequence, batch: batch, index: index, lastProgress: now))
                taken.append((index, books[lane].epoch))
            }
        }
        for handle in strays {
            // Handed back so that it can be delivered again at once: a claim is answered only by a
            // message that can be delivered, and the next owner resets the lane anyway. Freed with
            // its batch.
            _ = answer(handle, "-NAK")
        }
        guard !taken.isEmpty else { return claims }
        // Built after the lock, for the same reason; only this thread knows of them yet.
        var received: [ReceivedMessage] = []
        received.reserveCapacity(taken.count)
        for (index, epoch) in taken {
            received.append(
                ReceivedMessage(
                    topic: topic, key: batch.key(at: index), partition: Int32(handles[index].lane),
                    offset: positions[index].sequence, deliveryCount: positions[index].delivered, deliveryTag: epoch,
                    deferredContent: batch, index: index))
        }
        return claims + [.messages(received)]
    }

    /// The lane and consumer incarnation of a status message, from the inbox subject it arrived
    /// on, `<inbox>.<lane>.<incarnation>`.
    private static func statusOrigin(of handle: OpaquePointer) -> (lane: Int, incarnation: UInt32)? {
        guard let subject = natsMsg_GetSubject(handle) else { return nil }
        let tokens = String(cString: subject).split(separator: ".")
        guard tokens.count >= 2, let lane = Int(tokens[tokens.count - 2]),
            let incarnation = UInt32(tokens[tokens.count - 1])
        else { return nil }
        return (lane, incarnation)
    }

    /// The lane of a data message, from the subject it was published on (JetStream delivers it
    /// with that subject): `….p.<n>` is partition `n`, anything else the plain lane (the last).
    private func dataLane(of handle: OpaquePointer) -> Int {
        let plain = laneCount - 1
        guard let subject = natsMsg_GetSubject(handle) else { return plain }
        // Read the last two tokens in place, without copying the subject.
        let length = strlen(subject)
        var index = length
        var partition = 0
        var scale = 1
        while index > 0 {
            let byte = UInt8(bitPattern: subject[index - 1])
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { break }
            partition += Int(byte - UInt8(ascii: "0")) * scale
            scale *= 10
            index -= 1
        }
        guard index < length, index >= 3, subject[index - 1] == CChar(UInt8(ascii: ".")),
            subject[index - 2] == CChar(UInt8(ascii: "p")), subject[index - 3] == CChar(UInt8(ascii: ".")),
            partition < plain
        else { return plain }
        return partition
    }

    // MARK: Ownership

    /// Starts owning `lane` after its claim was answered. Unless the claim was the consumer's very
    /// first delivery (`first`), it hands the claim (and what followed it) back and rewinds the
    /// consumer to its ack floor, so every message the group has not acknowledged comes again,
    /// oldest first, and only then newer ones; the caller must make sure no request of the claim is
    /// still open then, or it could deliver an older message after the rewind. With `first`, the
    /// claim is the lane's oldest message: it and the messages that followed it under its pin are
    /// returned, in order, to be handled. Blocks (the reset is a request to the server).
    func own(lane: Int, first: Bool) throws(EventBusError) -> [ReceivedMessage] {
        let claimed = books.withLock { books -> [Held] in
            defer { books[lane] = Book() }
            return books[lane].claimed
        }
        if !first || claimed.isEmpty {
            handBack(claimed)
            try connection.resetConsumer(stream: stream, name: consumerNames[lane])
        }
        epochCounter &+= 1
        let epoch = epochCounter
        guard first, !claimed.isEmpty else {
            books.withLock { books in
                books[lane].epoch = epoch
                books[lane].current = true
            }
            return []
        }
        var messages: [ReceivedMessage] = []
        messages.reserveCapacity(claimed.count)
        for held in claimed {
            let position = NativePullConsumer.position(replySubject: natsMsg_GetReply(held.message))
            messages.append(
                ReceivedMessage(
                    topic: topic, key: held.batch.key(at: held.index), partition: Int32(lane),
                    offset: position.sequence, deliveryCount: position.delivered, deliveryTag: epoch,
                    deferredContent: held.batch, index: held.index))
        }
        let (taken, strays) = books.withLock { books -> ([ReceivedMessage], [Held]) in
            books[lane].epoch = epoch
            books[lane].current = true
            var taken: [ReceivedMessage] = []
            var strays: [Held] = []
            for (held, message) in zip(claimed, messages) {
                if books[lane].tracker.track(message.offset) {
                    books[lane].held.append(held)
                    taken.append(message)
                } else {
                    strays.append(held)
                }
            }
            return (taken, strays)
        }
        handBack(strays)
        return taken
    }

    /// Creates `lane`'s consumer again after it vanished from the server (deleted by another
    /// process, or lost with a server's state): it starts after the last message this member
    /// acknowledged on the lane, or at the stream's first message when there is none. Blocks.
    ///
    /// nats-server answers the open pulls of a consumer being deleted (`409 Consumer Deleted`) before
    /// it removes the consumer's stored state, and a consumer created under the same name in between
    /// takes that state up instead of the start sequence: a copy written some time before, behind
    /// what was acknowledged since. Seen under load: this member had acknowledged both messages of
    /// its lane, the consumer it created again delivered the second one as its second delivery (the
    /// stored copy knew of the first only, unacknowledged), the claim's reset went back to sequence 1
    /// and both were handled again. A consumer created behind this member's acknowledged run is
    /// therefore moved to the start before anything is pulled from it.
    func recreateConsumer(lane: Int) throws(EventBusError) -> Int64? {
        let start = acknowledged.withLock { $0[lane] }.map { $0 + 1 }
        let floor = try connection.ensureLaneConsumer(
            stream: stream, name: consumerNames[lane], filter: filters[lane], group: priorityGroup,
            settings: settings, startSequence: start)?.ackFloor
        if let start, let floor, floor < start - 1 {
            let moved = try connection.resetConsumer(stream: stream, name: consumerNames[lane], to: start)
            guard moved == start else {
                throw EventBusError(
                    .subscribeFailed,
                    "consumer '\(consumerNames[lane])' was created again behind what this member acknowledged "
                        + "(ack floor \(floor)) and could not be moved to sequence \(start) (it restarts at \(moved))",
                    isRetriable: true)
            }
        }
        incarnations[lane] &+= 1
        return start
    }

    /// Whether `lane`'s consumer is missing on the server (see
    /// ``NativeConnection/consumerIsGone(stream:name:timeout:)``). Blocks.
    func consumerIsGone(lane: Int, timeout: Duration) -> Bool {
        connection.consumerIsGone(stream: stream, name: consumerNames[lane], timeout: timeout)
    }

    /// How many messages the lane's open claim has brought: the claim and what followed it.
    func claimDeliveries(lane: Int) -> Int {
        books.withLock { $0[lane].claimed.count }
    }

    /// Hands back (NAK, oldest first) and frees the message that answered a claim this member will
    /// not use, and the messages that followed it.
    func dropClaim(lane: Int) {
        handBack(
            books.withLock { books -> [Held] in
                defer {
                    books[lane].claim = nil
                    books[lane].claimPin = nil
                    books[lane].followers = []
                }
                return books[lane].claimed
            })
    }

    /// Hands `messages` back (NAK, in the order given) so they can be delivered again at once; they
    /// are freed with their batches.
    private func handBack(_ messages: [Held]) {
        for held in messages { _ = answer(held.message, "-NAK") }
    }

    /// Stops treating `lane`'s messages as this member's: arrivals are no longer taken and
    /// ``isCurrent(lane:epoch:)`` answers false for what was taken.
    func disown(lane: Int) {
        books.withLock { $0[lane].current = false }
    }

    /// Whether a message of `lane` delivered under `epoch` is still this member's to handle.
    func isCurrent(lane: Int, epoch: UInt64) -> Bool {
        books.withLock { books in
            lane < books.count && books[lane].current && books[lane].epoch == epoch
        }
    }

    /// Messages of `lane` delivered to the pool and still without an outcome.
    func inFlight(lane: Int) -> Int {
        books.withLock { $0[lane].tracker.inFlight }
    }

    /// Lets go of `lane` after its handlers are done: acks what finished (when `acknowledge`),
    /// and frees every other held message. When `unpin` (only while this member holds the pin), it
    /// hands those back first (NAK, oldest first), so the next owner's claim is answered at once
    /// rather than after the ack wait, and gives up the pin; the next owner's reset then delivers
    /// everything after the ack floor again, in order. Blocks.
    func release(lane: Int, group: String, acknowledge: Bool, unpin: Bool) {
        dropClaim(lane: lane)
        if acknowledge { acknowledgeFinished(lane: lane) }
        let dropped = books.withLock { books -> Deque<Held> in
            let held = books[lane].held
            books[lane].held.removeAll()
            books[lane].current = false
            books[lane].tracker = ContiguousOffsetTracker()
            return held
        }
        if unpin {
            for held in dropped { _ = answer(held.message, "-NAK") }
        }
        if unpin { try? connection.unpinConsumer(stream: stream, name: consumerNames[lane], group: group) }
    }

    /// Gives up on messages that were taken but will get no outcome here.
    func abandon(_ messages: [ReceivedMessage]) {
        guard !messages.isEmpty else { return }
        books.withLock { books in
            for message in messages {
                let lane = Int(message.partition)
                guard lane < books.count, books[lane].epoch == message.deliveryTag else { continue }
                books[lane].tracker.abandon(message.offset)
            }
        }
    }

    // MARK: Outcomes

    /// Records the pool's outcomes and acks each touched lane's finished run. Called from the
    /// pool's actors. Outcomes of an ownership that ended are ignored.
    func settle(_ outcomes: [DispatchOutcome]) {
        // Lanes in the order first touched. An outcome batch seldom spans more than one (an actor
        // handed one or two messages of a read reports them together), so the first is kept apart
        // and only a second lane allocates the array.
        var firstTouched = -1
        var moreTouched: [Int] = []
        books.withLock { books in
            for outcome in outcomes {
                let lane = Int(outcome.partition)
                guard lane < books.count, books[lane].epoch == outcome.deliveryTag else { continue }
                if outcome.result == .withdrawn {
                    books[lane].tracker.abandon(outcome.offset)
                } else if books[lane].tracker.complete(outcome.offset) {
                    if firstTouched < 0 {
                        firstTouched = lane
                    } else if lane != firstTouched && !moreTouched.contains(lane) {
                        moreTouched.append(lane)
                    }
                }
            }
        }
        if firstTouched >= 0 { acknowledgeFinished(lane: firstTouched) }
        for lane in moreTouched { acknowledgeFinished(lane: lane) }
    }

    /// Acks the lane's last message of the run of finished messages from the oldest held one (the
    /// `all` ack policy acknowledges everything up to it) and frees the run.
    func acknowledgeFinished(lane: Int) {
        let run = books.withLock { books -> [Held] in
            guard let end = books[lane].tracker.commitOffset else { return [] }
            var run: [Held] = []
            // Read in place and moved out: `held.first` would copy each entry (a retain and a
            // release of its batch).
            while !books[lane].held.isEmpty, books[lane].held[0].sequence < end {
                run.append(books[lane].held.removeFirst())
            }
            acking.add(run.count, ordering: .relaxed)
            return run
        }
        guard let last = run.last else { return }
        acknowledged.withLock { $0[lane] = last.sequence }
        _ = answer(last.message, "+ACK")
        acking.subtract(run.count, ordering: .releasing)
    }

    /// Tells the server that messages held longer than `age` are still being worked on.
    func sendProgress(olderThan age: Duration) {
        let now = ContinuousClock.now
        books.withLock { books in
            for lane in books.indices {
                for index in books[lane].held.indices where now - books[lane].held[index].lastProgress >= age {
                    _ = answer(books[lane].held[index].message, "+WPI")
                    books[lane].held[index].lastProgress = now
                }
            }
        }
    }

    /// Messages taken from the server and not yet acknowledged to it: held on a lane, or on their
    /// way to an ack. (Counting only the held lists read 0 between a run's removal from its lane
    /// and its ack, so health could report nothing unacknowledged before the ack was sent.)
    var heldCount: Int {
        books.withLock { books in
            books.reduce(0) { $0 + $1.held.count } + acking.load(ordering: .acquiring)
        }
    }

    private func answer(_ handle: OpaquePointer, _ body: StaticString) -> natsStatus {
        guard let reply = natsMsg_GetReply(handle) else { return NATS_ILLEGAL_STATE }
        return body.withUTF8Buffer { bytes in
            natsConnection_Publish(connection.connection, reply, bytes.baseAddress, Int32(bytes.count))
        }
    }
}
