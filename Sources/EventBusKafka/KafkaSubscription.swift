import CoreMetrics
import EventBus
import Logging
import Synchronization

/// One (topic, group) consumer of a ``KafkaEventBus``: a poll thread feeding an `ActorPool`, and
/// per-partition offset tracking so only fully handled prefixes are committed.
final class KafkaSubscription: Subscription, SubscriptionIntake {
    /// Per assigned partition: which assignment it belongs to and what is done.
    struct PartitionProgress {
        var generation: UInt64
        var tracker = ContiguousOffsetTracker()
        var lastCommitted: Int64?
        /// Set when the partition is being revoked: its messages are no longer this member's.
        var revoking = false
    }

    struct Progress {
        var partitions = PartitionTable<PartitionProgress>()
        var nextGeneration: UInt64 = 1
        /// While a revocation waits for running handlers: opened once none of the revoking
        /// partitions has a message in flight.
        var revocationDrained: Latch?

        /// Opens the revocation's latch when its partitions have nothing in flight any more.
        mutating func noteDrained() {
            guard let latch = revocationDrained else { return }
            for partition in partitions.keys {
                guard let state = partitions[partition], state.revoking else { continue }
                if state.tracker.inFlight > 0 { return }
            }
            latch.open()
            revocationDrained = nil
        }
    }

    struct Lifecycle {
        var closeRequested = false
        var assignmentResult: EventBusError??
        var assignmentWaiter: UnsafeContinuation<EventBusError?, Never>?
    }

    let topic: String
    let group: String
    let consumer: RDKafkaConsumer
    let options: KafkaConsumerOptions
    let logger: Logger
    let progress = Mutex(Progress())
    let lifecycle = Mutex(Lifecycle())
    /// Opens once every handler of the subscription has returned (the runtime's `release`).
    let handlersReturned = Latch()
    /// Opens once the poll thread committed what finished and left the group.
    let released = Latch()
    /// Revocations whose running handlers outlived ``KafkaConsumerOptions/revocationTimeout``.
    let revocationTimeouts: Counter
    private let runtimeBox = Mutex<SubscriptionRuntime?>(nil)
    private let onClosed: @Sendable (KafkaSubscription) -> Void

    /// Messages fetched but not yet accepted by the pool, while their partitions are paused.
    // Safe because: only the poll thread touches it (rebalance callbacks run inside its poll call).
    nonisolated(unsafe) var pending = HeldBacklog()
    /// Partitions paused for backpressure.
    // Safe because: only the poll thread touches it, like `pending`.
    nonisolated(unsafe) var paused: [Int32] = []

    var pool: ActorPool { runtimeBox.withLock { $0!.pool } }

    init(
        topic: String, group: String, configuration: KafkaConfiguration,
        onClosed: @escaping @Sendable (KafkaSubscription) -> Void
    ) throws(EventBusError) {
        self.topic = topic
        self.group = group
        self.options = configuration.consumer
        self.logger = configuration.logger
        self.revocationTimeouts = SubscriptionMetrics.counter(
            BusMetrics.revocationTimeouts, configuration.pool.labelled(topic: topic, group: group))
        self.onClosed = onClosed
        self.consumer = try RDKafkaConsumer(
            topic: topic, properties: configuration.consumerProperties(group: group),
            batchSize: configuration.consumer.pollBatchSize,
            startFromEarliest: configuration.consumer.autoOffsetReset == .earliest,
            offsetQueryTimeoutMilliseconds: Int32(
                KafkaConfiguration.milliseconds(configuration.topics.operationTimeout)) ?? 10_000,
            logger: configuration.logger)
    }

    /// Builds the pool, joins the group and waits for the first assignment.
    func start(
        poolConfiguration: ActorPoolConfiguration, keylessRouting: ActorPool.KeylessRouting,
        handler: @escaping MessageHandler,
        deadLetterSink: @escaping DeadLetterSink,
        lag: @escaping @Sendable () async throws(EventBusError) -> ConsumerLag
    ) async throws(EventBusError) {
        let pool: ActorPool
        do {
            pool = try ActorPool(
                configuration: poolConfiguration, makeHandler: { handler },
                deadLetterSink: deadLetterSink,
                onOutcomes: { [weak self] outcomes in self?.completed(outcomes) },
                isCurrent: { [weak self] message in self?.isCurrent(message) ?? false },
                keylessRouting: keylessRouting)
        } catch {
            // Nothing runs yet: mark closed so a later close() or shutdown returns at once.
            lifecycle.withLock { $0.closeRequested = true }
            released.open()
            onClosed(self)
            throw error
        }
        let runtime = SubscriptionRuntime(pool: pool)
        runtimeBox.withLock { $0 = runtime }
        consumer.callbackContext.rebalanceHandler.withLock { handler in
            handler = { [weak self] event in self?.rebalanced(event) }
        }
        await runtime.start(
            intake: self, lag: lag, onClosed: { [weak self] in if let self { self.onClosed(self) } })
        do {
            try DedicatedThread.start { [self] in pollLoop() }
            try consumer.subscribe()
        } catch {
            await close()
            throw error
        }
        let failure = await withUnsafeContinuation {
            (continuation: UnsafeContinuation<EventBusError?, Never>) in
            let ready = lifecycle.withLock { state -> EventBusError?? in
                if let result = state.assignmentResult { return .some(result) }
                state.assignmentWaiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
        if let failure {
            await close()
            throw failure
        }

    }

    /// Resolves `subscribe`'s wait for the first assignment, once.
    func resolveAssignment(_ error: EventBusError?) {
        let waiter = lifecycle.withLock { state -> UnsafeContinuation<EventBusError?, Never>? in
            guard state.assignmentResult == nil else { return nil }
            state.assignmentResult = .some(error)
            let waiter = state.assignmentWaiter
            state.assignmentWaiter = nil
            return waiter
        }
        waiter?.resume(returning: error)
    }

    /// Why the subscription is stalled, for health; nil while it makes progress.
    var stallDescription: String? { runtimeBox.withLock { $0 }?.stallDescription() }

    /// The subscription's metrics; nil when they are off or the pool was never built.
    var metrics: SubscriptionMetrics? { runtimeBox.withLock { $0 }?.pool.metrics }

    func close() async {
        // Without a runtime the pool could not be built: nothing runs, and start marked it closed.
        await runtimeBox.withLock { $0 }?.close()
    }

    /// Makes the poll loop stop fetching; it then waits for the pool, commits and leaves the group.
    func stopIntake() {
        lifecycle.withLock { $0.closeRequested = true }
    }

    /// Tells the poll thread that every handler has returned, and waits until it has committed
    /// what finished and left the group.
    func release() async {
        handlersReturned.open()
        await released.wait()
    }

    /// Records what the pool finished; late outcomes of a revoked assignment are ignored.
    func completed(_ outcomes: [DispatchOutcome]) {
        progress.withLock { progress in
            for outcome in outcomes {
                // In place: reading the partition's state first would retain and release its
                // tracker's storage for every outcome.
                progress.partitions.update(outcome.partition) { state in
                    guard state.generation == outcome.deliveryTag else { return }
                    if outcome.result == .withdrawn {
                        state.tracker.abandon(outcome.offset)
                    } else {
                        state.tracker.complete(outcome.offset)
                    }
                }
            }
            progress.noteDrained()
        }
    }

    /// Whether `message` belongs to a partition this member still owns in the assignment that
    /// delivered it; the pool asks after a revocation.
    func isCurrent(_ message: ReceivedMessage) -> Bool {
        progress.withLock { progress in
            guard let partition = progress.partitions[message.partition] else { return false }
            return partition.generation == message.deliveryTag && !partition.revoking
        }
    }

    /// Offsets that moved since the last commit, optionally only for `partitions`.
    func takeCommittable(only partitions: Set<Int32>? = nil) -> [(partition: Int32, offset: Int64)] {
        progress.withLock { progress in
            var result: [(partition: Int32, offset: Int64)] = []
            for partition in progress.partitions.keys {
                if let partitions, !partitions.contains(partition) { continue }
                guard let offset = progress.partitions[partition]?.tracker.commitOffset,
                    offset != progress.partitions[partition]?.lastCommitted
                else {
                    continue
                }
                result.append((partition, offset))
                progress.partitions[partition]?.lastCommitted = offset
            }
            return result
        }
    }
}
