import Logging
import Synchronization
import Tracing

/// A supervised pool of actors that handles messages in order per key and concurrently across keys.
///
/// Each message's key (its aggregate ID) is hashed with ``KeyHash/fnv1a(_:)`` to pick an actor, so
/// one aggregate is always handled by one actor, one message at a time, in submission order; keyless
/// messages go round-robin, in runs of 16. Every actor has a bounded inbox: ``submit(_:)-(ReceivedMessage)`` waits when it is full,
/// so a fast producer is slowed down instead of growing memory or losing messages.
///
/// Supervision differs from an actor runtime that drops the failing message and carries on with a
/// fresh actor: here the actor is restarted (a new handler from the factory, after a short, doubling
/// backoff) and given the *same* message again, up to ``ActorPoolConfiguration/maxRestarts`` times.
/// Only then is the message written to the dead-letter sink, and the actor moves on. Either way the
/// pool reports a ``DispatchOutcome`` after the fact, which is the only point at which a backend may
/// acknowledge the message: nothing is lost and nothing is acknowledged before it was dealt with.
/// A handler error that says retrying cannot help (an ``EventBusError`` whose `isRetriable` is false,
/// such as a malformed envelope) is dead-lettered without restarts.
///
/// Revocation: when a backend takes partitions away from this member (a consumer-group rebalance),
/// it first makes `isCurrent` answer false for their messages, then calls ``withdrawRevoked()``:
/// queued messages it picks are taken out of the inboxes at once, and actors skip the ones they had
/// already taken; each is reported as ``DispatchOutcome/Result/withdrawn``, never handled here.
/// Once an actor withdrew one message of an ownership (a partition under one delivery tag), it
/// withdraws every later message of that ownership too, also one it took before the withdrawal
/// reached its inbox: so of each key, what an ownership handled is always a prefix of what it was
/// given, and the next owner, starting at the oldest message without an outcome, never handles an
/// earlier message after a later one. Only handlers already running finish, so the backend can
/// hand the partitions over as soon as their outcomes are in, without a second member ever
/// handling the same key at the same time.
///
/// Lifecycle: call ``run()`` in a task of your own; it returns after ``finish()`` (drain what was
/// submitted) or ``stop()`` (abandon what is queued; those messages get no outcome and so are
/// redelivered by the backend).
public final class ActorPool: Sendable {
    /// Counters of what the pool has done so far.
    public struct Statistics: Sendable, Equatable {
        /// Messages whose handler returned, counted when their outcomes are reported.
        public var handled: Int
        /// Messages written to the dead-letter sink.
        public var deadLettered: Int
        /// Handler restarts after a failure.
        public var restarts: Int
        /// Messages whose dead letter could not be written for a reason retrying cannot fix
        /// (``DispatchOutcome/Result/discarded``).
        public var deadLetterGiveUps: Int

        /// Creates a set of counters.
        public init(handled: Int, deadLettered: Int, restarts: Int, deadLetterGiveUps: Int = 0) {
            self.handled = handled
            self.deadLettered = deadLettered
            self.restarts = restarts
            self.deadLetterGiveUps = deadLetterGiveUps
        }
    }

    private let configuration: ActorPoolConfiguration
    private let logger: Logger
    private let makeHandler: @Sendable () -> MessageHandler
    private let deadLetterSink: DeadLetterSink
    private let reportOutcomes: @Sendable ([DispatchOutcome]) -> Void
    private let isCurrent: @Sendable (ReceivedMessage) -> Bool
    private let inboxes: [ActorInbox]
    private let roundRobin = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let handledCount = Atomic<Int>(0)
    private let deadLetteredCount = Atomic<Int>(0)
    private let restartCount = Atomic<Int>(0)
    private let giveUpCount = Atomic<Int>(0)
    /// The subscription's metrics (``BusMetrics``); nil when the factory is the no-op one, so an
    /// unmeasured pool pays one nil check per message.
    package let metrics: SubscriptionMetrics?
    /// Per actor, its finished count at the last ``stall(now:)`` that saw it change, and when.
    private let stallWatch = Mutex<[(finished: Int, since: ContinuousClock.Instant)]>([])
    private let startup = Mutex<(started: Int, waiters: [UnsafeContinuation<Void, Never>])>((0, []))

    /// The pool whose handler the current task is running, if any.
    @TaskLocal private static var handlingPool: ObjectIdentifier?

    /// Whether the calling task is running one of this pool's handlers (or was started from one).
    ///
    /// A subscription's `close()` waits for its pool's handlers to finish; called from one of them,
    /// it would wait for itself. Subscriptions check this and finish closing after the handler
    /// returns instead.
    public var isCallingFromHandler: Bool { Self.handlingPool == ObjectIdentifier(self) }

    /// Outcomes are reported in groups of at most this many, so acknowledgements are not held back
    /// behind a long batch.
    private static let outcomeFlushSize = 128

    /// Consecutive keyless messages given to one actor before the next.
    private static let keylessRun = 16

    /// How messages without a key are spread over the actors.
    public enum KeylessRouting: Sendable, Equatable {
        /// In turn, in runs of a few messages: no order among them.
        case rotate
        /// By the `aggregate_id` of the envelope in the payload, decoded once here and handed to
        /// the envelope handler, so a publisher that sends bare jxt-core envelopes without key
        /// headers still gets its aggregates handled in order; messages that are no envelope rotate.
        case envelopeAggregateID
    }

    private let keylessRouting: KeylessRouting

    /// Creates a pool; nothing runs until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: actors, inbox capacity, restarts, logger and metrics; validated here.
    ///   - makeHandler: builds a handler with fresh state; called per actor at start and on restart.
    ///   - deadLetterSink: writes a message that failed every attempt. A retriable failure (an
    ///     ``EventBusError`` whose `isRetriable` is true, or any other error) is retried every
    ///     ``ActorPoolConfiguration/deadLetterRetryInterval`` until the write succeeds or the pool
    ///     stops (the subscription closes; the message then gets no outcome and is redelivered). A
    ///     non-retriable ``EventBusError`` ends it at once: the message is reported
    ///     ``DispatchOutcome/Result/discarded``, counted in `eventbus_messages_processed_total`
    ///     with `outcome` `discarded` and logged at error level. A sink that can make a letter fit the broker's limits must do so
    ///     itself (``DeadLetter/fitted(_:limit:size:)``): a size refusal is not retriable.
    ///   - onOutcomes: told, from the actor's task (or from ``withdrawRevoked()``'s caller), what
    ///     became of each message. Keep it short.
    ///   - isCurrent: whether a message still belongs to this member; asked only after
    ///     ``withdrawRevoked()``, for messages taken before it. Once it answered false for a
    ///     message, the actor withdraws every later message of the same partition whose delivery
    ///     tag is not higher, without asking again; so a backend that withdraws must give every new
    ///     ownership of a partition a higher ``ReceivedMessage/deliveryTag`` (an epoch, a
    ///     generation). Default: always.
    ///   - keylessRouting: how messages without a key pick their actor. Default ``KeylessRouting/rotate``.
    public init(
        configuration: ActorPoolConfiguration = ActorPoolConfiguration(),
        makeHandler: @escaping @Sendable () -> MessageHandler,
        deadLetterSink: @escaping DeadLetterSink,
        onOutcomes: @escaping @Sendable ([DispatchOutcome]) -> Void,
        isCurrent: @escaping @Sendable (ReceivedMessage) -> Bool = { _ in true },
        keylessRouting: KeylessRouting = .rotate
    ) throws(EventBusError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = configuration.logger ?? Logger(label: "eventbus.pool")
        self.keylessRouting = keylessRouting
        self.makeHandler = makeHandler
        self.deadLetterSink = deadLetterSink
        self.reportOutcomes = onOutcomes
        self.isCurrent = isCurrent
        self.metrics = SubscriptionMetrics.make(configuration)
        self.inboxes = (0..<configuration.actorCount).map { _ in
            ActorInbox(capacity: configuration.inboxCapacity)
        }
    }

    /// What the pool has done so far.
    public var statistics: Statistics {
        Statistics(
            handled: handledCount.load(ordering: .relaxed),
            deadLettered: deadLetteredCount.load(ordering: .relaxed),
            restarts: restartCount.load(ordering: .relaxed),
            deadLetterGiveUps: giveUpCount.load(ordering: .relaxed)
        )
    }

    /// Messages queued or being handled, over all actors.
    public var occupancy: Int { inboxes.reduce(0) { $0 + $1.occupancy } }

    /// The most messages one actor holds, queued or being handled.
    public var deepestInbox: Int { inboxes.reduce(0) { max($0, $1.occupancy) } }

    /// How often the subscription samples its gauges (``ActorPoolConfiguration/metricsSampleInterval``).
    package var metricsSampleInterval: Duration { configuration.metricsSampleInterval }

    /// Samples the in-flight and inbox-depth gauges; nothing when metrics are off.
    package func sampleGauges() {
        guard let metrics else { return }
        metrics.inFlight.record(occupancy)
        metrics.inboxDepth.record(deepestInbox)
    }

    /// Actors that hold messages and finished none since a check at least
    /// ``ActorPoolConfiguration/stallTimeout`` ago, and how long the longest has been stuck; nil
    /// when none is. Each call compares every actor's count of finished messages with the last
    /// call's, so stalls are seen across calls (a bus's `health()` makes them).
    public func stall(now: ContinuousClock.Instant = .now) -> (actors: Int, longest: Duration)? {
        stallWatch.withLock { watch -> (actors: Int, longest: Duration)? in
            if watch.isEmpty {
                watch = Array(repeating: (finished: -1, since: now), count: inboxes.count)
            }
            var stalled = 0
            var longest = Duration.zero
            for index in inboxes.indices {
                let progress = inboxes[index].progress
                if progress.occupancy == 0 || progress.finished != watch[index].finished {
                    watch[index] = (progress.finished, now)
                    continue
                }
                let stuck = now - watch[index].since
                if stuck >= configuration.stallTimeout {
                    stalled += 1
                    longest = max(longest, stuck)
                }
            }
            return stalled > 0 ? (stalled, longest) : nil
        }
    }

    /// The actor a key belongs to.
    public func actorIndex(forKey key: String) -> Int {
        Int(KeyHash.fnv1a(key) % UInt32(inboxes.count))
    }

    private func actorIndex(forKey key: String?) -> Int {
        if let key {
            return actorIndex(forKey: key)
        }
        // Keyless messages rotate in runs of `keylessRun`: they need no order, and handing an actor
        // a run instead of a single message saves a wake-up per message.
        let turn = roundRobin.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        return (turn / Self.keylessRun) % inboxes.count
    }

    /// The actor of each message, in order. Reads only the keys through the buffer: mapping
    /// `actorIndex` over the messages copied and destroyed each whole message (a retain and a
    /// release of every reference it holds, the topic's and the fetch's shared by all of them).
    private func actorIndices(of messages: [ReceivedMessage]) -> [Int] {
        messages.withUnsafeBufferPointer { buffer in
            [Int](unsafeUninitializedCapacity: buffer.count) { actors, initialized in
                for index in buffer.indices {
                    actors.initializeElement(at: index, to: actorIndex(forKey: buffer[index].key))
                }
                initialized = buffer.count
            }
        }
    }

    /// Hands messages to their actors, waiting while an inbox is full.
    ///
    /// Throws ``EventBusError/Code/shutDown`` when the pool stopped, ``EventBusError/Code/cancelled``
    /// when the calling task was cancelled, before every message was taken; the messages not taken
    /// get no outcome.
    public func submit(_ messages: consuming [ReceivedMessage]) async throws(EventBusError) {
        var messages = messages
        try await submit(draining: &messages)
    }

    /// ``submit(_:)-(consuming [ReceivedMessage])``, leaving `messages` empty with its capacity
    /// kept, so a caller that hands over batch after batch (a delivery loop) reuses one buffer
    /// instead of allocating and faulting in a large array per batch. On a throw, `messages` holds
    /// nothing that was not taken either: the messages not taken get no outcome, as there.
    package func submit(draining messages: inout [ReceivedMessage]) async throws(EventBusError) {
        if keylessRouting == .envelopeAggregateID { Self.keyByAggregateID(&messages) }
        if messages.count == 1 {
            let message = messages.removeLast()
            try Self.check(await inboxes[actorIndex(forKey: message.key)].put([message]))
            return
        }
        var groups = groupByActor(draining: &messages)
        for actor in groups.indices where !groups[actor].isEmpty {
            // Moved out of `groups`, so the inbox (and the actor that takes it) holds the only
            // reference and can reverse it in place.
            let group = groups[actor]
            groups[actor] = []
            try Self.check(await inboxes[actor].put(consume group))
        }
    }

    /// Hands over one message, waiting while its actor's inbox is full.
    public func submit(_ message: ReceivedMessage) async throws(EventBusError) {
        try await submit([message])
    }

    /// Hands over what fits without waiting and returns the rest, in their original order.
    ///
    /// Once a message for some actor did not fit, no later message for that actor is taken, so order
    /// per key holds when the caller offers the rest again. For callers on a thread of their own
    /// (a broker's poll loop) that pause their source instead of waiting.
    public func offer(_ messages: consuming [ReceivedMessage]) -> [ReceivedMessage] {
        var messages = messages
        return offer(draining: &messages, actors: nil)
    }

    /// ``offer(_:)``, leaving `messages` empty with its capacity kept, so a poll thread that hands
    /// over fetch after fetch reuses one buffer (a fetch of 1,024 messages is about 150 KB, which
    /// it otherwise allocated, faulted in and freed per fetch).
    ///
    /// `actors[i]`, when given, is ``actorIndex(forKey:)`` of `messages[i]`'s key, or -1 for a
    /// message without one: a backend that already hashed each key on its way in (to pick the
    /// thread that copies its content) saves hashing it a second time here. -1 entries are chosen
    /// here, as for every message when `actors` is nil.
    package func offer(draining messages: inout [ReceivedMessage], actors: [Int]?) -> [ReceivedMessage] {
        if keylessRouting == .envelopeAggregateID { Self.keyByAggregateID(&messages) }
        var actors = actors ?? actorIndices(of: messages)
        precondition(actors.count == messages.count, "one actor index per message")
        if actors.contains(-1) {
            // Keyless ones (their key may just have been set from the envelope) choose now.
            messages.withUnsafeBufferPointer { buffer in
                for index in buffer.indices where actors[index] < 0 {
                    actors[index] = actorIndex(forKey: buffer[index].key)
                }
            }
        }
        var groups = groupByActor(draining: &messages, actors: actors)
        var accepted = [Int](repeating: 0, count: inboxes.count)
        var anyRejected = false
        for actor in groups.indices where !groups[actor].isEmpty {
            // A group that fits is queued as it is and left empty here; of one that does not,
            // what did not fit stays.
            accepted[actor] = inboxes[actor].offer(taking: &groups[actor])
            anyRejected = anyRejected || !groups[actor].isEmpty
        }
        guard anyRejected else { return [] }
        // Rebuild the rest in the original order; only messages that did not fit are copied.
        var position = [Int](repeating: 0, count: inboxes.count)
        var rest: [ReceivedMessage] = []
        for actor in actors {
            let index = position[actor]
            position[actor] += 1
            if index >= accepted[actor] { rest.append(groups[actor][index - accepted[actor]]) }
        }
        return rest
    }

    /// Gives each keyless message whose payload is an envelope its aggregate ID as key, keeping
    /// the decoded envelope with it for the handler. Messages offered again keep what they got.
    private static func keyByAggregateID(_ messages: inout [ReceivedMessage]) {
        for index in messages.indices where messages[index].key == nil {
            messages[index].copyDeferredContent()
            guard let envelope = try? EnvelopeCodec.decode(messages[index].payload) else { continue }
            messages[index].key = envelope.aggregateID
            messages[index].decodedEnvelope = DecodedEnvelope(envelope)
        }
    }

    /// Groups messages per actor, keeping their order; moves them out of `messages` (left empty,
    /// its capacity kept) rather than copying when the caller holds the only reference. `actors[i]`,
    /// when given, is the actor already chosen for `messages[i]` (keyless messages rotate, so
    /// choosing twice would differ). Each group is allocated once at its final size: growing 256
    /// groups by appending cost several reallocations each per batch.
    private func groupByActor(draining messages: inout [ReceivedMessage], actors: [Int]? = nil) -> [[ReceivedMessage]] {
        let chosen = actors ?? actorIndices(of: messages)
        var counts = [Int](repeating: 0, count: inboxes.count)
        for actor in chosen { counts[actor] += 1 }
        var groups = [[ReceivedMessage]](repeating: [], count: inboxes.count)
        for actor in groups.indices where counts[actor] > 0 { groups[actor].reserveCapacity(counts[actor]) }
        messages.withUnsafeMutableBufferPointer { $0.reverse() }
        var index = 0
        while let message = messages.popLast() {
            groups[chosen[index]].append(message)
            index += 1
        }
        return groups
    }

    /// Runs the actors until ``finish()`` or ``stop()``; returns when all of them have ended.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for inbox in inboxes {
                group.addTask {
                    await Self.$handlingPool.withValue(ObjectIdentifier(self)) { await self.runActor(inbox) }
                }
            }
        }
    }

    /// Returns once every actor of a running pool has started; call it after starting ``run()``.
    ///
    /// Subscriptions wait for it so that "ready" means the actors are waiting for messages, and the
    /// cost of starting them is not paid by the first messages' latency.
    public func waitUntilRunning() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let ready = startup.withLock { state -> Bool in
                if state.started == inboxes.count { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func markStarted() {
        let waiters = startup.withLock { state -> [UnsafeContinuation<Void, Never>] in
            state.started += 1
            guard state.started == inboxes.count else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Accepts no more messages; actors handle what they hold, then ``run()`` returns.
    public func finish() {
        for inbox in inboxes { inbox.close() }
    }

    /// Abandons queued messages; handlers already running finish their message, then ``run()``
    /// returns. Abandoned messages get no outcome, so the backend redelivers them.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        for inbox in inboxes { _ = inbox.discardAndClose() }
    }

    /// Takes every queued message that is no longer current out of the pool, and makes the actors
    /// skip such messages they already took; returns how many were taken out of the inboxes.
    ///
    /// Call it after `isCurrent` started answering false for the revoked messages. Those taken out
    /// here are reported before it returns, the others when their actor reaches them (after the
    /// message it is handling, or after the current attempt of one that is being retried); all as
    /// ``DispatchOutcome/Result/withdrawn``. Messages offered afterwards are handled as usual
    /// (unless an earlier message of their ownership was withdrawn in their actor, see the type's
    /// description), so the caller must stop offering revoked ones first.
    @discardableResult
    public func withdrawRevoked() -> Int {
        let isCurrent = self.isCurrent
        var outcomes: [DispatchOutcome] = []
        for inbox in inboxes {
            let removed = inbox.withdraw { !isCurrent($0) }
            guard !removed.isEmpty else { continue }
            outcomes.append(contentsOf: removed.map { DispatchOutcome(of: $0, result: .withdrawn, attempts: 0) })
        }
        if !outcomes.isEmpty { reportOutcomes(outcomes) }
        return outcomes.count
    }

    private static func check(_ put: ActorInbox.Put) throws(EventBusError) {
        switch put {
        case .accepted: return
        case .closed: throw closedError
        case .cancelled:
            throw EventBusError(.cancelled, "the task was cancelled while waiting for room in the pool")
        }
    }

    private static var closedError: EventBusError {
        EventBusError(.shutDown, "the actor pool was stopped")
    }

    private func runActor(_ inbox: ActorInbox) async {
        markStarted()
        var handler = makeHandler()
        var batches: [[ReceivedMessage]] = []
        var outcomes: [DispatchOutcome] = []
        outcomes.reserveCapacity(Self.outcomeFlushSize)
        var revision = 0
        // Ownerships this actor has seen withdrawn: their later messages are withdrawn too, even
        // from a batch taken after the partition stopped being current but before the withdrawal
        // reached this inbox (whose revision then did not move).
        var revoked = RevokedOwnerships()
        let plain = metrics == nil && configuration.tracing == nil
        // Messages whose outcomes the last batch's final flush reported: their room is freed by
        // the next take, under the lock it takes anyway.
        var finished = 0
        while let taken = await inbox.take(
            releasing: finished, recycling: consume batches, revision: &revision, revoked: &revoked)
        {
            batches = taken
            // Messages taken and not yet handled, this one included once popped: what `stop()`
            // abandons.
            var left = batches.reduce(0) { $0 + $1.count }
            var abandoned = 0
            handling: for index in batches.indices {
                // Out of `batches`, so this is the array's only reference: handled from the back
                // of it reversed, popping moves each message out, so it is neither copied
                // (retained) on the way in nor released twice on the way out. Reversing through
                // the buffer pointer swaps by moving; Array's own reverse() retains each element.
                var batch: [ReceivedMessage] = []
                swap(&batch, &batches[index])
                batch.withUnsafeMutableBufferPointer { $0.reverse() }
                while var message = batch.popLast() {
                    left -= 1
                    // A withdrawal since this batch was taken: skip what is no longer this member's, and
                    // everything after it of the same ownership.
                    if (!revoked.isEmpty && revoked.contains(message))
                        || (inbox.revision != revision && !isCurrent(message))
                    {
                        revoked.insert(partition: message.partition, tag: message.deliveryTag)
                        outcomes.append(DispatchOutcome(of: message, result: .withdrawn, attempts: 0))
                        continue
                    }
                    // Content a broker backend left in its buffers is copied here, on the handling
                    // thread, so the copy is freed by the thread that made it.
                    message.copyDeferredContent()
                    guard !stopping.load(ordering: .relaxed) else {
                        abandoned = left + 1
                        break handling
                    }
                    let delivered: DispatchOutcome?
                    if plain {
                        // Neither traced nor measured: the first attempt is called here, so a message
                        // handled at once costs no call of `deliver` (an async frame of its own).
                        do {
                            try await handler(message)
                            delivered = DispatchOutcome(of: message, result: .handled, attempts: 1)
                        } catch {
                            delivered = await deliver(
                                message, handler: &handler, pending: &outcomes, inbox: inbox, revision: revision,
                                firstFailure: error)
                        }
                    } else {
                        delivered = await deliver(
                            message, handler: &handler, pending: &outcomes, inbox: inbox, revision: revision)
                    }
                    guard let outcome = delivered else {
                        abandoned = left + 1
                        break handling
                    }
                    if outcome.result == .withdrawn {
                        revoked.insert(partition: outcome.partition, tag: outcome.deliveryTag)
                    }
                    outcomes.append(outcome)
                    if outcomes.count >= Self.outcomeFlushSize {
                        flush(&outcomes, inbox: inbox)
                    }
                }
            }
            finished = report(&outcomes)
            if abandoned > 0 {
                // Only after stop(): these get no outcome, so the backend redelivers them.
                inbox.release(finished + abandoned)
                return
            }
        }
    }

    /// Reports `outcomes` and frees their room in the inbox.
    private func flush(_ outcomes: inout [DispatchOutcome], inbox: ActorInbox) {
        let reported = report(&outcomes)
        if reported > 0 { inbox.release(reported) }
    }

    /// Counts and reports `outcomes`, empties them (keeping the capacity) and returns how many
    /// there were; the caller frees their room in the inbox afterwards.
    private func report(_ outcomes: inout [DispatchOutcome]) -> Int {
        guard !outcomes.isEmpty else { return 0 }
        var deadLettered = 0
        var neither = 0
        for outcome in outcomes {
            switch outcome.result {
            case .handled: break
            case .deadLettered: deadLettered += 1
            case .withdrawn, .discarded: neither += 1  // discarded ones were counted when given up
            }
        }
        let handled = outcomes.count - deadLettered - neither
        if handled > 0 {
            handledCount.add(handled, ordering: .relaxed)
            metrics?.handled.increment(by: handled)
        }
        if deadLettered > 0 {
            deadLetteredCount.add(deadLettered, ordering: .relaxed)
            metrics?.deadLettered.increment(by: deadLettered)
        }
        reportOutcomes(outcomes)
        let count = outcomes.count
        outcomes.removeAll(keepingCapacity: true)
        return count
    }

    /// Calls the handler until it succeeds or the restarts are used up; nil when the pool stopped.
    ///
    /// Before it waits (a restart's backoff, a dead-letter write) it reports the `pending` outcomes
    /// of earlier messages, so their acknowledgement is not held back by this one's trouble.
    /// `firstFailure` is the error of a first attempt the caller made itself (only when the pool is
    /// neither traced nor measured); the restarts continue from there.
    private func deliver(
        _ message: ReceivedMessage,
        handler: inout MessageHandler,
        pending: inout [DispatchOutcome],
        inbox: ActorInbox,
        revision: Int,
        firstFailure: (any Error)? = nil
    ) async
        -> DispatchOutcome?
    {
        var attempts = firstFailure == nil ? 0 : 1
        var failure = firstFailure
        var backoff = configuration.restartBackoff
        // One consumer span over every attempt; nil (one check per message) when nothing is traced.
        let span = configuration.tracing?.startProcessSpan(message)
        defer { span?.end() }
        let metrics = self.metrics
        while true {
            if failure == nil {
                attempts += 1
                // Read the clock only when measured: nothing per message otherwise.
                let started = metrics == nil ? nil : ContinuousClock.now
                do {
                    if let span {
                        // The handler's own spans nest under this one.
                        try await ServiceContext.withValue(span.context) { try await handler(message) }
                    } else {
                        try await handler(message)
                    }
                    if let metrics, let started { metrics.recordCall(.now - started, succeeded: true) }
                    return DispatchOutcome(of: message, result: .handled, attempts: attempts)
                } catch {
                    if let metrics, let started { metrics.recordCall(.now - started, succeeded: false) }
                    failure = error
                }
            }
            if let error = failure {
                failure = nil
                let permanent = (error as? EventBusError).map { !$0.isRetriable } ?? false
                let restarts = attempts - 1
                flush(&pending, inbox: inbox)
                if permanent || restarts >= configuration.maxRestarts {
                    let outcome = await deadLetter(message, error: error, attempts: attempts)
                    if let span, outcome != nil {
                        MessageTracing.recordDeadLetter(span, attempts: attempts, error: error)
                    }
                    return outcome
                }
                if let span { MessageTracing.recordRetry(span, attempt: attempts, error: error) }
                restartCount.add(1, ordering: .relaxed)
                metrics?.retried.increment()
                logger.debug(
                    "handler failed; restarting actor",
                    metadata: [
                        "eventbus.topic": "\(message.topic)",
                        "eventbus.attempt": "\(attempts)",
                        "eventbus.error": "\(error)",
                    ]
                )
                handler = makeHandler()
                if backoff > .zero {
                    try? await Task.sleep(for: backoff)
                }
                backoff = backoff * 2
                if stopping.load(ordering: .relaxed) { return nil }
                if inbox.revision != revision && !isCurrent(message) {
                    // Its partition went to another member during the retries: that member
                    // handles it next, before the key's later messages.
                    return DispatchOutcome(of: message, result: .withdrawn, attempts: attempts)
                }
            }
        }
    }

    /// Writes the dead letter: retriable failures are retried until the write succeeds or the pool
    /// stops (nil), a non-retriable one gives up at once (see ``init(configuration:makeHandler:deadLetterSink:onOutcomes:isCurrent:keylessRouting:)``).
    private func deadLetter(_ message: ReceivedMessage, error: any Error, attempts: Int) async
        -> DispatchOutcome?
    {
        let letter = DeadLetter(message: message, error: error, attempts: attempts)
        var sinkFailures = 0
        while true {
            do {
                try await deadLetterSink(letter)
                logger.warning(
                    "message dead-lettered",
                    metadata: [
                        "eventbus.topic": "\(message.topic)",
                        "eventbus.attempts": "\(attempts)",
                        "eventbus.error": "\(letter.errorDescription)",
                    ]
                )
                return DispatchOutcome(of: message, result: .deadLettered, attempts: attempts)
            } catch let failure as EventBusError where !failure.isRetriable {
                // The same write would be refused again: retrying would hold the key forever.
                giveUpCount.add(1, ordering: .relaxed)
                metrics?.discarded.increment()
                logger.error(
                    "dead-letter write refused for good; message discarded (the source topic still holds it)",
                    metadata: [
                        "eventbus.topic": "\(message.topic)",
                        "eventbus.partition": "\(message.partition)",
                        "eventbus.offset": "\(message.offset)",
                        "eventbus.key": "\(message.key ?? "")",
                        "eventbus.attempts": "\(attempts)",
                        "eventbus.error": "\(letter.errorDescription)",
                        "eventbus.dead_letter_error": "\(failure)",
                    ]
                )
                return DispatchOutcome(of: message, result: .discarded, attempts: attempts)
            } catch {
                // The first failure is worth a warning; the retries after it would flood the log.
                logger.log(
                    level: sinkFailures == 0 ? .warning : .debug,
                    "dead-letter write failed; will retry until it succeeds or the subscription closes",
                    metadata: ["eventbus.topic": "\(message.topic)", "eventbus.error": "\(error)"]
                )
                sinkFailures += 1
                if await !pauseUnlessStopped(configuration.deadLetterRetryInterval) { return nil }
            }
        }
    }

    /// Sleeps `duration` in slices of at most 50 ms; false as soon as the pool is stopping, so a
    /// retry loop ends within one slice of ``stop()``.
    private func pauseUnlessStopped(_ duration: Duration) async -> Bool {
        let deadline = ContinuousClock.now + duration
        while !stopping.load(ordering: .relaxed) {
            let left = deadline - .now
            guard left > .zero else { return true }
            try? await Task.sleep(for: min(left, .milliseconds(50)))
        }
        return false
    }
}
