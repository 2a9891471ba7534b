import EventBus
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One member of a consumer group: a fetch thread feeding an `ActorPool` whose outcomes ack.
///
/// The fetch thread pulls batches from the durable consumer and offers them to the pool without
/// waiting; what does not fit is held (and fetching paused) until the inboxes drain, so the
/// consumer's max-ack-pending and the inbox capacity bound memory. The pool reports outcomes from
/// its actors; each is acked (handled) or termed (dead-lettered) right there.
final class NATSSubscription: Subscription, SubscriptionIntake {
    let topic: String
    let group: String

    private let consumer: NativePullConsumer
    private let runtime: SubscriptionRuntime
    private var pool: ActorPool { runtime.pool }
    /// The subscription's metrics; nil when they are off.
    var metrics: SubscriptionMetrics? { runtime.pool.metrics }
    private let settings: NATSConfiguration.ConsumerSettings
    private let logger: Logger
    /// Opens when the fetch thread has stopped.
    private let fetchStopped = Latch()
    private let stopping = Atomic<Bool>(false)
    private let fetchErrors = Atomic<Int>(0)

    init(
        topic: String, group: String, consumer: NativePullConsumer, pool: ActorPool,
        settings: NATSConfiguration.ConsumerSettings, logger: Logger
    ) {
        self.topic = topic
        self.group = group
        self.consumer = consumer
        self.runtime = SubscriptionRuntime(pool: pool)
        self.settings = settings
        self.logger = logger
    }

    /// Starts the pool's actors, waits until they run, then starts the fetch thread and waits for
    /// its first pull request; `onClose` runs once the subscription closed.
    ///
    /// Returning only once the request is out puts this member in the server's queue of waiting
    /// requests before anything published afterwards arrives: the server deals messages round-robin
    /// over that queue, so a member whose first request came late would get none of a short burst.
    func start(
        lag: @escaping @Sendable () async throws(EventBusError) -> ConsumerLag, onClose: @escaping @Sendable () -> Void
    ) async {
        await runtime.start(intake: self, lag: lag, onClosed: onClose)
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            NativeThread.start(name: "eventbus.nats.fetch.\(topic)") {
                self.fetchLoop(firstRequestSent: continuation)
            }
        }
    }

    /// Acks or terms what the pool finished; called from the pool's actors.
    static func settle(_ outcomes: [DispatchOutcome], consumer: NativePullConsumer, logger: Logger) {
        var handled: [UInt64] = []
        var deadLettered: [UInt64] = []
        handled.reserveCapacity(outcomes.count)
        for outcome in outcomes {
            switch outcome.result {
            case .handled: handled.append(outcome.deliveryTag)
            case .deadLettered, .discarded: deadLettered.append(outcome.deliveryTag)
            case .withdrawn: break  // still held; handed back with the rest when the member lets go
            }
        }
        var failures = consumer.settle(handled, as: .ack)
        if !deadLettered.isEmpty { failures += consumer.settle(deadLettered, as: .term) }
        if failures > 0 {
            logger.debug("acks not sent; the server will redeliver", metadata: ["eventbus.count": "\(failures)"])
        }
    }

    private func fetchLoop(firstRequestSent: UnsafeContinuation<Void, Never>) {
        if let error = consumer.requestIfNeeded(batch: settings.fetchBatch, wait: settings.fetchWait) {
            // The loop below asks again; subscribing does not wait for a broker that is away.
            logger.debug(
                "first pull request failed; retrying",
                metadata: ["eventbus.topic": "\(topic)", "eventbus.error": "\(error)"])
        }
        firstRequestSent.resume()
        var backlog = HeldBacklog()
        let progressAge = settings.ackWait / 2
        let progressEvery = settings.ackWait / 4
        var lastProgress = ContinuousClock.now
        var failureBackoff: Duration = .milliseconds(50)
        while !stopping.load(ordering: .relaxed) {
            let now = ContinuousClock.now
            if now - lastProgress >= progressEvery {
                consumer.sendProgress(olderThan: progressAge)
                lastProgress = now
            }
            if !backlog.retry(pool) {
                // Take in what earlier requests still deliver, so it is held (and kept alive with
                // in-progress acks) rather than left in nats.c's queue; ask for nothing new.
                if case .messages(let arrived) = consumer.takeArrived(upTo: settings.fetchBatch) {
                    backlog.hold(arrived)
                }
                usleep(200)
                continue
            }
            let fetchStarted = ContinuousClock.now
            switch consumer.fetch(batch: settings.fetchBatch, wait: settings.fetchWait) {
            case .messages(let messages):
                failureBackoff = .milliseconds(50)
                backlog.offer(messages, to: pool)
            case .nothing:
                failureBackoff = .milliseconds(50)
                // An instant empty answer means another member's pull holds what is pending.
                if ContinuousClock.now - fetchStarted < .milliseconds(1) { usleep(1000) }
            case .failed(let error):
                fetchErrors.add(1, ordering: .relaxed)
                logger.debug(
                    "fetch failed; retrying",
                    metadata: [
                        "eventbus.topic": "\(topic)", "eventbus.group": "\(group)", "eventbus.error": "\(error)",
                    ])
                usleep(UInt32(failureBackoff.milliseconds * 1000))
                failureBackoff = min(failureBackoff * 2, .seconds(1))
            }
        }
        // Fetched but never offered: hand back at once. Pull requests still open may deliver
        // more; wait for them to end so those are held too, and `close` naks them with the rest.
        let unoffered = backlog.removeAll()
        if !unoffered.isEmpty { _ = consumer.settle(unoffered.map(\.deliveryTag), as: .nak) }
        consumer.finishRequests()
        fetchStopped.open()
    }

    /// Fetch failures so far, for health.
    var fetchErrorCount: Int { fetchErrors.load(ordering: .relaxed) }
    /// Messages fetched and not yet acknowledged.
    var unsettledCount: Int { consumer.heldCount }
    /// 1 while the durable consumer is gone from the server and not yet created again.
    var missingConsumerCount: Int { consumer.isConsumerMissing ? 1 : 0 }
    /// Times the durable consumer was created again after it vanished.
    var recreatedConsumerCount: Int { consumer.recreatedCount }

    func close() async {
        await runtime.close()
    }

    /// Ends the fetch loop; it hands back what it fetched but never offered.
    func stopIntake() {
        stopping.store(true, ordering: .relaxed)
    }

    /// Once every handler returned: waits for the fetch thread, then naks everything not handled,
    /// so another member gets it at once rather than after the ack wait.
    func release() async {
        await fetchStopped.wait()
        consumer.releaseAll()
    }

    /// Why the subscription is stalled, for health; nil while it makes progress.
    var stallDescription: String? { runtime.stallDescription() }
}
