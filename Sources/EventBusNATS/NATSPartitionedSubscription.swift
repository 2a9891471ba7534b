import EventBus
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One member of a partitioned consumer group on NATS JetStream.
///
/// A topic's messages sit in lanes: one per partition (`<prefix>.<topic>.p.<n>`) and one for the
/// plain subject. Each lane is a durable consumer whose pinned client (a priority group with the
/// `pinned_client` policy) is the only member the server delivers to. Members announce themselves
/// on a membership subject; every member computes the same assignment from the sorted member IDs
/// (lane `i` goes to member `(i + topic hash) % count`), claims the lanes assigned to it and lets go of the others:
///
/// - **Claim.** Ask the lane's consumer for one message without a pin ID (a whole batch when the
///   consumer had never delivered when this member subscribed). The server answers only once no
///   other member holds the pin (released, or silent for ``NATSConfiguration/ConsumerSettings/memberTimeout``).
///   That first message makes this member the pinned client. If it is the consumer's very first
///   delivery, it and what followed it are the lane's oldest messages and are handled; otherwise
///   they are dropped, and once the claim's request has ended the consumer is reset to its ack
///   floor, so the lane starts again at the oldest unacknowledged message and goes forward in
///   stream order.
/// - **Own.** Pull with the pin ID; outcomes are acked as contiguous runs (ack policy `all`), so the
///   ack floor is exactly what this member finished.
/// - **Release** (assigned elsewhere, or closing). Stop pulling, withdraw the lane's queued
///   messages from the pool, wait for its running handlers (at most the ack wait), ack what
///   finished, unpin. A `423` answer (another member holds the pin) drops the lane at once.
///
/// One fetch thread runs all of it; the pool's actors only settle outcomes.
final class NATSPartitionedSubscription: Subscription, SubscriptionIntake {
    let topic: String
    let group: String

    /// One lane's place in the claim / own / release cycle; only the fetch thread touches it.
    private enum Phase {
        case idle
        case claiming(requestOpenUntil: ContinuousClock.Instant?)
        /// A claim for more than one message was answered by a message the consumer had delivered
        /// before: this member holds the pin, but resets the consumer only once the claim's request
        /// has ended, so that nothing it delivers can arrive after the reset.
        case awaitingClaimEnd(pin: String, until: ContinuousClock.Instant, size: Int)
        case owned(pin: String)
        case releasing(since: ContinuousClock.Instant)
    }

    private struct PullRequest {
        var remaining: Int
        let expiresAt: ContinuousClock.Instant
    }

    private struct Lane {
        var phase = Phase.idle
        var requests: [PullRequest] = []
        var lastPull = ContinuousClock.now
        /// Set when the server said the lane's consumer is gone; cleared once it was created again.
        var consumerMissing = false
        /// The pin this member held when it last let go of the lane. A message still carrying it
        /// is a late delivery of that ownership, not a new claim: it is handed back without
        /// unpinning, since the pin may by now be another member's.
        var releasedPin: String?
        var lastRecreateAttempt: ContinuousClock.Instant?
        /// How many messages the next claim asks for: more than one only while the lane's consumer
        /// is believed never to have delivered (see ``claimBatch``).
        var claimSize = 1

        /// The lane's open claim request has ended (a status answered it): another claim may go out,
        /// or a rewind waiting for it may go ahead. False when the lane had no claim open.
        mutating func claimRequestEnded() -> Bool {
            switch phase {
            case .claiming: phase = .claiming(requestOpenUntil: nil)
            case .awaitingClaimEnd(let pin, _, let size): phase = .awaitingClaimEnd(pin: pin, until: .now, size: size)
            default: return false
            }
            return true
        }

        /// A lane this member no longer owns, remembering the pin it last let go of.
        static func released(pin: String?) -> Lane {
            var lane = Lane()
            lane.releasedPin = pin
            return lane
        }
    }

    /// The lanes the fetch thread still owned when it stopped; `release` lets go of them.
    private let ownedAtExit = Mutex<[Int]>([])
    /// Opens when the fetch thread has stopped.
    private let fetchStopped = Latch()

    /// The priority group every lane consumer pins its client in.
    static let priorityGroup = "eventbus"

    private let reader: NativePartitionReader
    private let runtime: SubscriptionRuntime
    private var pool: ActorPool { runtime.pool }
    /// The subscription's metrics; nil when they are off.
    var metrics: SubscriptionMetrics? { runtime.pool.metrics }
    private let settings: NATSConfiguration.ConsumerSettings
    private let logger: Logger
    private let memberID: String
    private let stopping = Atomic<Bool>(false)
    private let fetchErrors = Atomic<Int>(0)
    private let ownedLanes = Atomic<Int>(0)
    private let missingConsumers = Atomic<Int>(0)
    private let recreatedConsumers = Atomic<Int>(0)

    init(
        topic: String, group: String, reader: NativePartitionReader, pool: ActorPool,
        settings: NATSConfiguration.ConsumerSettings, logger: Logger
    ) {
        self.topic = topic
        self.group = group
        self.reader = reader
        self.runtime = SubscriptionRuntime(pool: pool)
        self.settings = settings
        self.logger = logger
        self.memberID = String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Starts the pool, announces this member, and starts the fetch thread; returns once the
    /// thread has sent its first claims.
    func start(
        lag: @escaping @Sendable () async throws(EventBusError) -> ConsumerLag, onClose: @escaping @Sendable () -> Void
    ) async {
        await runtime.start(intake: self, lag: lag, onClosed: onClose)
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            NativeThread.start(name: "eventbus.nats.member.\(topic)") {
                self.fetchLoop(started: continuation)
            }
        }
    }

    // MARK: The fetch thread

    private var heartbeatInterval: Duration { settings.memberTimeout / 5 }

    /// What a claim asks for on a lane whose consumer had never delivered when this member
    /// subscribed: the lane's share of ``NATSConfiguration/ConsumerSettings/fetchBatch``, at least 16.
    ///
    /// A one-message claim costs the lane a second round trip before its messages flow (the pinned
    /// pull is sent only once the claim is answered), and during a burst the server answers that
    /// pull after the publishes queued before it: 2.5-12 ms at the pressure levels
    /// (`Docs/PerformanceLog.md`). A consumer that never delivered has nothing unacknowledged to
    /// rewind to, so its claim can ask for a whole batch. When another member did deliver from it
    /// meanwhile, the claim is answered by an older message and the lane waits for the claim's
    /// request to end before it resets (``Phase/awaitingClaimEnd(pin:until:size:)``).
    private var claimBatch: Int { max(16, settings.fetchBatch / max(1, reader.laneCount)) }

    private func fetchLoop(started: UnsafeContinuation<Void, Never>) {
        var lanes = [Lane](repeating: Lane(), count: reader.laneCount)
        // Only where the pin outlives the longest wait for a claim's end (fetchWait and a second,
        // from the claim's request), so the rewind never comes after the pin passed on.
        if settings.memberTimeout >= (settings.fetchWait + .seconds(1)) * 2 {
            for lane in lanes.indices where reader.freshAtStart[lane] { lanes[lane].claimSize = claimBatch }
        }
        var members: [String: ContinuousClock.Instant] = [:]
        var backlog = HeldBacklog()
        // Ask who is there and give them a moment to answer, so a joining member does not first
        // claim every lane for itself.
        reader.announce("hello \(memberID)")
        let introduction = ContinuousClock.now + min(heartbeatInterval, .milliseconds(200))
        while ContinuousClock.now < introduction {
            readMembership(into: &members)
            usleep(5000)
        }
        var nextHeartbeat = ContinuousClock.now
        var lastProgress = ContinuousClock.now
        var firstPass = true
        // The assignment changes only when membership lines arrive or a member's silence runs out:
        // computed then, not on every pass of the loop.
        var assigned: Set<Int> = []
        var nextExpiry = ContinuousClock.now
        while !stopping.load(ordering: .relaxed) {
            let now = ContinuousClock.now
            if now >= nextHeartbeat {
                reader.announce("alive \(memberID)")
                nextHeartbeat = now + heartbeatInterval
            }
            if now - lastProgress >= settings.ackWait / 4 {
                reader.sendProgress(olderThan: settings.ackWait / 2)
                lastProgress = now
            }
            if readMembership(into: &members) || now >= nextExpiry || firstPass {
                (assigned, nextExpiry) = assignment(members: &members, now: now)
            }
            var revoked = false
            for lane in lanes.indices {
                let wanted = assigned.contains(lane)
                revoked =
                    step(lane: lane, state: &lanes[lane], wanted: wanted, backlogFull: !backlog.isEmpty) || revoked
            }
            if firstPass {
                firstPass = false
                started.resume()
            }
            if revoked { dropRevoked(from: &backlog) }
            backlog.retry(pool)
            // Block only when there is nothing to hand over; arrivals end the wait at once.
            let wait: Int64 = backlog.isEmpty ? 20 : 0
            let (read, failure) = reader.read(waitingMilliseconds: wait, limit: settings.fetchBatch)
            var arrivals = read
            if let failure {
                fetchErrors.add(1, ordering: .relaxed)
                logger.debug(
                    "reading the pull inbox failed; retrying",
                    metadata: ["eventbus.topic": "\(topic)", "eventbus.error": "\(failure)"])
                usleep(50_000)
            }
            // A read lists its status answers before its messages, so a lane a status took away
            // (423, consumer gone) may still have messages further on in the same read.
            var laneTakenAway = false
            // Popped rather than iterated, so each arrival's messages are moved on with their array
            // the only reference: the pool reorders the array it is given, and a second reference
            // (the arrival left in `arrivals`) made it copy every message first (a retain and a
            // release of each reference a message holds; 2026-11-30 profile of the fetch threads).
            arrivals.reverse()
            while let arrival = arrivals.popLast() {
                switch consume arrival {
                case .messages(let messages):
                    // By index: `for message in messages` copies each message to read one field.
                    for index in messages.indices { book(delivery: Int(messages[index].partition), in: &lanes) }
                    guard laneTakenAway else {
                        backlog.offer(messages, to: pool)
                        continue
                    }
                    let (current, stale) = messages.reduce(into: ([ReceivedMessage](), [ReceivedMessage]())) {
                        if reader.isCurrent(lane: Int($1.partition), epoch: $1.deliveryTag) {
                            $0.0.append($1)
                        } else {
                            $0.1.append($1)
                        }
                    }
                    reader.abandon(stale)
                    backlog.offer(current, to: pool)
                case .claimed(let lane, let pin, let first):
                    let messages = claimed(
                        lane: lane, pin: pin, first: first, state: &lanes[lane], wanted: assigned.contains(lane))
                    if !messages.isEmpty { backlog.offer(messages, to: pool) }
                case .status(let lane, let code, let description):
                    if status(code, description: description, lane: lane, state: &lanes[lane]) {
                        laneTakenAway = true
                        dropRevoked(from: &backlog)
                    }
                }
            }
            if !backlog.isEmpty { usleep(200) }
        }
        if firstPass { started.resume() }
        drainRequests(&lanes)
        // Whatever was fetched but never offered is not this member's any more.
        for lane in lanes.indices { reader.disown(lane: lane) }
        reader.abandon(backlog.removeAll())
        for lane in lanes.indices {
            // Held a pin without owning the lane yet: hand back what the claim brought and unpin.
            if case .awaitingClaimEnd = lanes[lane].phase {
                reader.release(lane: lane, group: Self.priorityGroup, acknowledge: false, unpin: true)
            }
        }
        let owned = lanes.indices.filter { lane in
            switch lanes[lane].phase {
            case .owned, .releasing: return true
            case .idle, .claiming, .awaitingClaimEnd: return false
            }
        }
        ownedAtExit.withLock { $0 = owned }
        fetchStopped.open()
    }

    /// Reads until every pull request this member still has open has ended (at most the fetch
    /// wait), holding what they deliver. Handing messages back (NAK) while a request of this
    /// member is still open would only deliver them to that request again, out of every other
    /// member's reach until the ack wait, so `release` hands them back only after this.
    private func drainRequests(_ lanes: inout [Lane]) {
        let deadline = ContinuousClock.now + settings.fetchWait + .milliseconds(200)
        while ContinuousClock.now < deadline {
            let now = ContinuousClock.now
            for lane in lanes.indices { lanes[lane].requests.removeAll { now >= $0.expiresAt + .milliseconds(100) } }
            guard lanes.contains(where: { !$0.requests.isEmpty }) else { return }
            let (arrivals, _) = reader.read(waitingMilliseconds: 20, limit: settings.fetchBatch)
            for arrival in arrivals {
                switch arrival {
                case .messages(let messages):
                    // Held and tracked by the reader, never offered: `release` hands them back.
                    for index in messages.indices { book(delivery: Int(messages[index].partition), in: &lanes) }
                case .claimed(let lane, _, _):
                    reader.dropClaim(lane: lane)
                case .status(let lane, let code, _):
                    if code == "404" || code == "408", !lanes[lane].requests.isEmpty {
                        lanes[lane].requests.removeFirst()
                    } else if code == "409" || code == "423" {
                        lanes[lane].requests.removeAll()
                    }
                }
            }
        }
    }

    /// Reads membership lines: `alive` and `hello` refresh a member (a `hello` is answered at
    /// once), `leave` removes one.
    @discardableResult
    private func readMembership(into members: inout [String: ContinuousClock.Instant]) -> Bool {
        let now = ContinuousClock.now
        let lines = reader.membershipLines()
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let id = String(parts[1])
            guard id != memberID else { continue }
            switch parts[0] {
            case "alive": members[id] = now
            case "hello":
                members[id] = now
                reader.announce("alive \(memberID)")
            case "leave": members[id] = nil
            default: break
            }
        }
        return !lines.isEmpty
    }

    /// The lanes this member should own: lane `i` goes to the `(i + h) % count`-th of the sorted
    /// live member IDs, this member included, where `h` is the FNV-1a hash of the topic (so the
    /// first lanes of different topics land on different members); and when the next live
    /// member's silence runs out.
    private func assignment(members: inout [String: ContinuousClock.Instant], now: ContinuousClock.Instant)
        -> (lanes: Set<Int>, nextExpiry: ContinuousClock.Instant)
    {
        members = members.filter { now - $0.value < settings.memberTimeout }
        let nextExpiry = (members.values.min() ?? now + heartbeatInterval) + settings.memberTimeout
        let sorted = (Array(members.keys) + [memberID]).sorted()
        guard let position = sorted.firstIndex(of: memberID) else { return ([], nextExpiry) }
        let shift = Int(KeyHash.fnv1a(topic) % UInt32(sorted.count))
        let first = (position - shift + sorted.count) % sorted.count
        return (Set(stride(from: first, to: reader.laneCount, by: sorted.count)), nextExpiry)
    }

    /// Moves one lane along its cycle and keeps its pull requests coming; true when the lane was
    /// just revoked from this member.
    private func step(lane: Int, state: inout Lane, wanted: Bool, backlogFull: Bool) -> Bool {
        let now = ContinuousClock.now
        // The server ends an expired request with a 408; one that got no answer at all a second
        // later may have gone to a consumer that no longer exists (see `consumerIsGone`).
        let open = state.requests.count
        state.requests.removeAll { now >= $0.expiresAt + .seconds(1) }
        var unanswered = state.requests.count < open
        if case .claiming(let openUntil?) = state.phase, now >= openUntil + .seconds(1) { unanswered = true }
        if unanswered, !state.consumerMissing, reader.consumerIsGone(lane: lane, timeout: settings.fetchWait) {
            return consumerVanished(lane: lane, state: &state)
        }
        if state.consumerMissing {
            if !wanted {
                // Another member's to create again now.
                state.consumerMissing = false
                missingConsumers.subtract(1, ordering: .relaxed)
                return false
            }
            if recreateConsumer(lane: lane, state: &state, now: now) { return false }
        }
        switch state.phase {
        case .idle:
            guard wanted else { return false }
            state.phase = .claiming(requestOpenUntil: nil)
            return step(lane: lane, state: &state, wanted: wanted, backlogFull: backlogFull)
        case .claiming(let openUntil):
            if !wanted {
                state.phase = .idle
                return false
            }
            // One claim at a time: a second open claim could deliver a message after the reset.
            if let openUntil, now < openUntil + .seconds(1) { return false }
            if let error = reader.requestPull(
                lane: lane, batch: state.claimSize, expires: settings.fetchWait, group: Self.priorityGroup, pin: nil)
            {
                note(error, lane: lane)
                return false
            }
            state.phase = .claiming(requestOpenUntil: now + settings.fetchWait)
        case .awaitingClaimEnd(let pin, let until, let size):
            guard wanted else {
                reader.release(lane: lane, group: Self.priorityGroup, acknowledge: false, unpin: true)
                state.phase = .idle
                return false
            }
            // Over once it expired (its 408 moves `until` to the moment it came) or delivered all it asked for.
            guard now >= until || reader.claimDeliveries(lane: lane) >= size else { return false }
            _ = startOwning(lane: lane, pin: pin, first: false, state: &state)
        case .owned(let pin):
            if !wanted {
                startReleasing(lane: lane, state: &state)
                state.releasedPin = pin
                return true
            }
            let owed = state.requests.reduce(0) { $0 + $1.remaining }
            let batch = max(16, settings.fetchBatch / max(1, ownedLanes.load(ordering: .relaxed)))
            // A full pool asks for nothing new, but keeps the pin alive with a pull of one.
            let keepAlive = now - state.lastPull >= settings.memberTimeout / 4
            guard (!backlogFull && owed <= batch / 2) || (backlogFull && keepAlive) else { return false }
            let size = backlogFull ? 1 : batch
            if let error = reader.requestPull(
                lane: lane, batch: size, expires: settings.fetchWait, group: Self.priorityGroup, pin: pin)
            {
                note(error, lane: lane)
                return false
            }
            state.requests.append(PullRequest(remaining: size, expiresAt: now + settings.fetchWait))
            state.lastPull = now
        case .releasing(let since):
            let running = reader.inFlight(lane: lane)
            let overdue = now - since >= settings.ackWait
            // Its own open pull requests must have ended too, or what it hands back would be
            // delivered to them again instead of to the next owner.
            guard (running == 0 && state.requests.isEmpty) || overdue else { return false }
            if overdue {
                logger.error(
                    "a released partition still has handlers running after the ack wait; its next owner may handle their keys meanwhile",
                    metadata: [
                        "eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)",
                    ])
            }
            reader.release(lane: lane, group: Self.priorityGroup, acknowledge: true, unpin: true)
            ownedLanes.subtract(1, ordering: .relaxed)
            state = .released(pin: state.releasedPin)
            logger.debug(
                "partition released",
                metadata: ["eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)"])
        }
        return false
    }

    /// Takes the messages of lanes this member no longer owns out of the backlog; they will not
    /// get an outcome here.
    private func dropRevoked(from backlog: inout HeldBacklog) {
        reader.abandon(
            backlog.withdraw { !reader.isCurrent(lane: Int($0.partition), epoch: $0.deliveryTag) })
    }

    /// Stops owning a lane: nothing more is pulled, queued messages leave the pool.
    private func startReleasing(lane: Int, state: inout Lane) {
        reader.disown(lane: lane)
        pool.withdrawRevoked()
        state.phase = .releasing(since: ContinuousClock.now)
    }

    /// A data message arrived for an owned lane: one less owed by its oldest request.
    private func book(delivery lane: Int, in lanes: inout [Lane]) {
        guard !lanes[lane].requests.isEmpty else { return }
        lanes[lane].requests[0].remaining -= 1
        if lanes[lane].requests[0].remaining <= 0 { lanes[lane].requests.removeFirst() }
    }

    /// A claim was answered: this member holds the lane's pin. Returns the claim message, and
    /// what followed it under its pin, when it is the lane's very first, to be handled.
    private func claimed(lane: Int, pin: String, first: Bool, state: inout Lane, wanted: Bool) -> [ReceivedMessage] {
        if pin == state.releasedPin {
            // Redelivered under the pin this member gave up: hand it back, leave the pin alone.
            reader.dropClaim(lane: lane)
            return []
        }
        let openUntil: ContinuousClock.Instant?
        switch state.phase {
        case .owned, .releasing, .awaitingClaimEnd:
            // A late delivery of a lane being let go: its next owner gets it after its reset.
            reader.dropClaim(lane: lane)
            return []
        case .idle:
            // A claim answered after the lane went elsewhere: give up a pin this member will not use.
            reader.release(lane: lane, group: Self.priorityGroup, acknowledge: false, unpin: true)
            return []
        case .claiming(let until):
            openUntil = until
        }
        guard wanted else {
            reader.release(lane: lane, group: Self.priorityGroup, acknowledge: false, unpin: true)
            state.phase = .idle
            return []
        }
        let claimSize = state.claimSize
        state.claimSize = 1
        if !first && claimSize > 1 {
            // The consumer had delivered after all: rewind only once the claim's request is over.
            state.phase = .awaitingClaimEnd(
                pin: pin, until: (openUntil ?? ContinuousClock.now) + .seconds(1), size: claimSize)
            logger.debug(
                "a partition's batch claim was answered by a message delivered before; rewinding once the claim's request has ended",
                metadata: ["eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)"])
            return []
        }
        guard let messages = startOwning(lane: lane, pin: pin, first: first, state: &state) else { return [] }
        if claimSize > 1, let openUntil {
            // The rest of the claim's request is still owed, like a pull's.
            state.requests = [PullRequest(remaining: claimSize - messages.count, expiresAt: openUntil)]
        }
        return messages
    }

    /// Makes this member the lane's owner under `pin` (``NativePartitionReader/own(lane:first:)``):
    /// returns the claim's messages to handle when `first`, or nil when the reset failed, in which
    /// case the pin is given up and the lane claimed again.
    private func startOwning(lane: Int, pin: String, first: Bool, state: inout Lane) -> [ReceivedMessage]? {
        let messages: [ReceivedMessage]
        do {
            messages = try reader.own(lane: lane, first: first)
        } catch {
            note(error, lane: lane)
            reader.release(lane: lane, group: Self.priorityGroup, acknowledge: false, unpin: true)
            state.phase = .claiming(requestOpenUntil: nil)
            return nil
        }
        ownedLanes.add(1, ordering: .relaxed)
        state = Lane(phase: .owned(pin: pin))
        logger.debug(
            "partition claimed",
            metadata: [
                "eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)",
                "eventbus.reset": "\(!first)",
            ])
        return messages
    }

    /// Creates the lane's vanished consumer again, at most once a second; true while it is still
    /// missing.
    private func recreateConsumer(lane: Int, state: inout Lane, now: ContinuousClock.Instant) -> Bool {
        if let last = state.lastRecreateAttempt, now - last < .seconds(1) { return true }
        state.lastRecreateAttempt = now
        do {
            let start = try reader.recreateConsumer(lane: lane)
            state.consumerMissing = false
            missingConsumers.subtract(1, ordering: .relaxed)
            recreatedConsumers.add(1, ordering: .relaxed)
            logger.warning(
                "a partition's consumer had vanished from the server; created it again",
                metadata: [
                    "eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)",
                    "eventbus.consumer": "\(reader.consumerNames[lane])",
                    "eventbus.start_sequence": "\(start.map(String.init) ?? "first")",
                ])
            return false
        } catch {
            note(error, lane: lane)
            return true
        }
    }

    /// The lane's consumer is gone on the server (`409 Consumer Deleted`, its info says "not found"
    /// after a pull went unanswered, or `503` no responders where a server sends one):
    /// let go of what it delivered, as when the pin was lost, and create it again before pulling.
    /// Returns true when it took the lane away.
    private func consumerVanished(lane: Int, state: inout Lane) -> Bool {
        fetchErrors.add(1, ordering: .relaxed)
        if !state.consumerMissing {
            state.consumerMissing = true
            missingConsumers.add(1, ordering: .relaxed)
            logger.error(
                "a partition's consumer is gone from the server; creating it again",
                metadata: [
                    "eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)",
                    "eventbus.consumer": "\(reader.consumerNames[lane])",
                ])
        }
        state.requests.removeAll()
        switch state.phase {
        case .owned, .releasing:
            let lastAttempt = state.lastRecreateAttempt
            dropAtOnce(lane: lane, state: &state)
            state.consumerMissing = true
            state.lastRecreateAttempt = lastAttempt
            return true
        case .claiming:
            state.phase = .claiming(requestOpenUntil: nil)
        case .awaitingClaimEnd:
            reader.dropClaim(lane: lane)
            state.phase = .claiming(requestOpenUntil: nil)
        case .idle:
            break
        }
        return false
    }

    /// A status answer to one of a lane's pull requests; true when it took the lane away.
    private func status(_ code: String, description: String, lane: Int, state: inout Lane) -> Bool {
        if code == "503" || (code == "409" && description.lowercased().contains("consumer deleted")) {
            return consumerVanished(lane: lane, state: &state)
        }
        switch code {
        case "404", "408":
            // While claiming, the claim's request is the lane's only one.
            if !state.claimRequestEnded(), !state.requests.isEmpty { state.requests.removeFirst() }
        case "409":
            state.requests.removeAll()
            _ = state.claimRequestEnded()
        case "423":
            // Another member holds the pin: this one was silent too long. Let go at once and
            // acknowledge nothing more, since the new owner has already rewound the lane.
            guard case .owned = state.phase else { return false }
            logger.warning(
                "lost a partition's pin to another member; dropping what it held",
                metadata: ["eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)"])
            dropAtOnce(lane: lane, state: &state)
            return true
        default:
            break
        }
        return false
    }

    /// Lets go of an owned lane without waiting and acknowledges nothing more of it (its pin went to
    /// another member, or its consumer is gone): queued messages leave the pool, held ones are freed.
    private func dropAtOnce(lane: Int, state: inout Lane) {
        reader.disown(lane: lane)
        pool.withdrawRevoked()
        reader.release(lane: lane, group: Self.priorityGroup, acknowledge: false, unpin: false)
        ownedLanes.subtract(1, ordering: .relaxed)
        if case .owned(let pin) = state.phase {
            state = .released(pin: pin)
        } else {
            state = .released(pin: state.releasedPin)
        }
    }

    private func note(_ error: EventBusError, lane: Int) {
        fetchErrors.add(1, ordering: .relaxed)
        logger.debug(
            "partition request failed; retrying",
            metadata: [
                "eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.partition": "\(lane)",
                "eventbus.error": "\(error)",
            ])
    }

    // MARK: Health and closing

    /// Fetch failures so far, for health.
    var fetchErrorCount: Int { fetchErrors.load(ordering: .relaxed) }
    /// Lanes whose consumer is gone from the server and not yet created again.
    var missingConsumerCount: Int { missingConsumers.load(ordering: .relaxed) }
    /// Consumers this member created again after they vanished.
    var recreatedConsumerCount: Int { recreatedConsumers.load(ordering: .relaxed) }
    /// Messages fetched and not yet acknowledged.
    var unsettledCount: Int { reader.heldCount }

    func close() async {
        await runtime.close()
    }

    /// Ends the fetch loop.
    func stopIntake() {
        stopping.store(true, ordering: .relaxed)
    }

    /// Once every handler returned: acks what finished, hands back the rest and unpins every lane
    /// this member still owned, so the next owners claim them at once; then says goodbye.
    func release() async {
        await fetchStopped.wait()
        let reader = self.reader
        let memberID = self.memberID
        let owned = ownedAtExit.withLock { $0 }
        _ = try? await NativeThread.run(name: "eventbus.nats.leave") { () throws(EventBusError) in
            for lane in owned {
                reader.release(lane: lane, group: Self.priorityGroup, acknowledge: true, unpin: true)
            }
            reader.announce("leave \(memberID)")
        }
    }

    /// Why the subscription is stalled, for health; nil while it makes progress.
    var stallDescription: String? { runtime.stallDescription() }
}
