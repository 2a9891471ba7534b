import CoreMetrics
import EventBus
import Logging
import Synchronization

/// Makes publishes that JetStream dropped as duplicates visible: the server answers them with a
/// positive PubAck (`"duplicate": true`), so `publish` succeeds although nothing new was stored.
///
/// Each one increments `eventbus_publish_duplicates_total` (`BusMetrics.publishDuplicates`) with
/// the bus's metrics dimensions (`ActorPoolConfiguration.metricsDimensions`) plus `backend` and
/// `topic`, and is logged at warning level with
/// its subject and `Nats-Msg-Id`. JetStream drops a publish whose `Nats-Msg-Id` (the event ID,
/// or a replay's `X-Replay-ID`) it stored within the stream's duplicate window.
final class NATSDuplicateReporter: Sendable {
    private let subjects: NATSSubjects
    private let factory: any MetricsFactory
    private let dimensions: [(String, String)]
    private let logger: Logger
    private let counters = Mutex<[String: Counter]>([:])
    private let total = Atomic<Int>(0)

    init(configuration: NATSConfiguration) {
        subjects = configuration.subjects
        factory = configuration.pool.metricsFactory
        dimensions = configuration.pool.metricsDimensions + [("backend", MessagingSystem.nats)]
        logger = configuration.logger
    }

    /// Duplicates reported so far.
    var count: Int { total.load(ordering: .relaxed) }

    /// Counts and logs one duplicate; called from nats.c's PubAck thread.
    func record(subject: String, messageID: String?) {
        let topic = subjects.topic(ofSubject: subject) ?? subject
        total.add(1, ordering: .relaxed)
        let counter = counters.withLock { counters in
            if let existing = counters[topic] { return existing }
            // Topics are few; a bus that publishes to very many forgets the older counters' handles.
            if counters.count >= 1024 { counters.removeAll() }
            let created = Counter(
                label: BusMetrics.publishDuplicates, dimensions: dimensions + [("topic", topic)],
                factory: factory)
            counters[topic] = created
            return created
        }
        counter.increment()
        logger.warning(
            "publish dropped by JetStream as a duplicate of a stored message",
            metadata: [
                "eventbus.topic": "\(topic)", "eventbus.nats.subject": "\(subject)",
                "eventbus.nats.msg_id": "\(messageID ?? "")",
            ])
    }
}
