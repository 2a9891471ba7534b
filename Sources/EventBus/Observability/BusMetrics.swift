import CoreMetrics
import Synchronization

/// The one naming scheme of every metric EventBus reports through swift-metrics.
///
/// `Docs/Observability.md`, "Metrics", is the table of names, types, units, dimensions and their
/// OpenTelemetry counterparts. Dimensions come in one order: the configuration's
/// ``ActorPoolConfiguration/metricsDimensions`` first, then `backend`, `topic`, `group` (consumer
/// side), then one of `outcome`, `code` or `partition`.
///
/// Zero cost when unused: with swift-metrics' default `NOOPMetricsHandler` as the factory no handle
/// is made and the hot paths pay one nil check per publish call and per handled message. Otherwise
/// handles are made once per topic (publish) or subscription (consume), never per message.
public enum BusMetrics {
    /// Timer: how long one publish call took per topic, until the backend accepted (or refused)
    /// every message; dimensions `backend`, `topic`, `outcome` (`success` / `failure`).
    public static let publishDuration = "eventbus_publish_duration_seconds"
    /// Counter: messages of publish calls, by the call's outcome; dimensions `backend`, `topic`,
    /// `outcome` (`success` / `failure`: every message of a failed call counts as failed, although
    /// some may have been published).
    public static let messagesSent = "eventbus_messages_sent_total"
    /// Counter: failed publish calls by ``EventBusError/Code``; dimensions `backend`, `topic`, `code`.
    public static let publishErrors = "eventbus_publish_errors_total"
    /// Timer: one handler call; dimensions `backend`, `topic`, `group`, `outcome` (`success` /
    /// `failure`).
    public static let processDuration = "eventbus_process_duration_seconds"
    /// Counter: what became of delivered messages; dimensions `backend`, `topic`, `group`,
    /// `outcome`: `handled`, `retried` (a failed call that is tried again, so one message may count
    /// several times), `dead_lettered`, `discarded` (the dead-letter write was refused for good).
    public static let messagesProcessed = "eventbus_messages_processed_total"
    /// Gauge: messages a subscription received and has not finished (queued in its actors'
    /// inboxes or being handled); dimensions `backend`, `topic`, `group`. Sampled.
    public static let messagesInFlight = "eventbus_messages_in_flight"
    /// Gauge: the deepest actor inbox of a subscription, in messages (compare with
    /// ``ActorPoolConfiguration/inboxCapacity``: at capacity the subscription waits); dimensions
    /// `backend`, `topic`, `group`. Sampled.
    public static let inboxDepth = "eventbus_inbox_depth"
    /// Gauge: ``ConsumerLag`` per partition, in messages; dimensions `backend`, `topic`, `group`,
    /// `partition`. Sampled, and set by every `health()` that reads lag.
    public static let consumerLag = "eventbus_consumer_lag"
    /// Counter (NATS): publishes JetStream stored once already (a duplicate PubAck); dimensions
    /// `backend`, `topic`.
    public static let publishDuplicates = "eventbus_publish_duplicates_total"
    /// Counter (Kafka): revocations whose running handlers outlived the revocation timeout;
    /// dimensions `backend`, `topic`, `group`.
    public static let revocationTimeouts = "eventbus_revocation_timeouts_total"

    /// Whether `factory` reports anywhere: false for swift-metrics' `NOOPMetricsHandler`.
    package static func isEnabled(_ factory: any MetricsFactory) -> Bool {
        !(factory is NOOPMetricsHandler)
    }
}

/// The publish side of ``BusMetrics`` for one bus: handles cached per topic.
package final class PublishMetrics: Sendable {
    private struct Instruments: Sendable {
        let sentSuccess: Counter
        let sentFailure: Counter
        let durationSuccess: Timer
        let durationFailure: Timer
    }

    private let factory: any MetricsFactory
    private let base: [(String, String)]
    private let topics = Mutex<[String: Instruments]>([:])
    private let errors = Mutex<[String: Counter]>([:])
    /// Topics are few; a bus that publishes to very many forgets older handles past this many.
    private static let cacheLimit = 1024

    /// The publish metrics of a bus of `backend` reporting to `configuration`'s factory; nil when
    /// that factory is the no-op one, so publishing costs one nil check.
    package static func make(_ configuration: ActorPoolConfiguration, backend: String) -> PublishMetrics? {
        guard BusMetrics.isEnabled(configuration.metricsFactory) else { return nil }
        return PublishMetrics(
            factory: configuration.metricsFactory, base: configuration.metricsDimensions + [("backend", backend)])
    }

    private init(factory: any MetricsFactory, base: [(String, String)]) {
        self.factory = factory
        self.base = base
    }

    /// Runs one publish call of `topics` (each topic with its message count) and records it.
    package func measure(
        _ topics: [(topic: String, count: Int)], _ operation: () async throws(EventBusError) -> Void
    ) async throws(EventBusError) {
        let start = ContinuousClock.now
        var failure: EventBusError?
        do { try await operation() } catch { failure = error }
        record(topics, since: start, failure: failure)
        if let failure { throw failure }
    }

    /// Records one publish call of `topics` that began at `start` and ended now, failed with
    /// `failure` if given: for a pipelined call, when its last acknowledgement arrived.
    package func record(
        _ topics: [(topic: String, count: Int)], since start: ContinuousClock.Instant, failure: EventBusError?
    ) {
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        for (topic, count) in topics {
            let instruments = self.instruments(topic)
            if let failure {
                instruments.sentFailure.increment(by: count)
                instruments.durationFailure.recordNanoseconds(nanoseconds)
                errorCounter(topic: topic, code: failure.code).increment()
            } else {
                instruments.sentSuccess.increment(by: count)
                instruments.durationSuccess.recordNanoseconds(nanoseconds)
            }
        }
    }

    /// Runs a publish call of `messages` and records it per topic.
    package func measure(
        _ messages: [OutgoingMessage], _ operation: () async throws(EventBusError) -> Void
    ) async throws(EventBusError) {
        try await measure(Self.countPerTopic(messages), operation)
    }

    /// Message counts per topic, in order of first appearance.
    package static func countPerTopic(_ messages: [OutgoingMessage]) -> [(topic: String, count: Int)] {
        var counts: [(topic: String, count: Int)] = []
        for message in messages {
            if let last = counts.indices.last, counts[last].topic == message.topic {
                counts[last].count += 1
            } else if let index = counts.firstIndex(where: { $0.topic == message.topic }) {
                counts[index].count += 1
            } else {
                counts.append((message.topic, 1))
            }
        }
        return counts
    }

    private func instruments(_ topic: String) -> Instruments {
        topics.withLock { topics in
            if let existing = topics[topic] { return existing }
            if topics.count >= Self.cacheLimit { topics.removeAll() }
            let dimensions = base + [("topic", topic)]
            let made = Instruments(
                sentSuccess: Counter(
                    label: BusMetrics.messagesSent, dimensions: dimensions + [("outcome", "success")], factory: factory),
                sentFailure: Counter(
                    label: BusMetrics.messagesSent, dimensions: dimensions + [("outcome", "failure")], factory: factory),
                durationSuccess: Timer(
                    label: BusMetrics.publishDuration, dimensions: dimensions + [("outcome", "success")],
                    factory: factory),
                durationFailure: Timer(
                    label: BusMetrics.publishDuration, dimensions: dimensions + [("outcome", "failure")],
                    factory: factory))
            topics[topic] = made
            return made
        }
    }

    private func errorCounter(topic: String, code: EventBusError.Code) -> Counter {
        let key = topic + "\u{0}" + code.description
        return errors.withLock { errors in
            if let existing = errors[key] { return existing }
            if errors.count >= Self.cacheLimit { errors.removeAll() }
            let made = Counter(
                label: BusMetrics.publishErrors,
                dimensions: base + [("topic", topic), ("code", code.description)], factory: factory)
            errors[key] = made
            return made
        }
    }
}

/// The consume side of ``BusMetrics`` for one subscription (one ``ActorPool``): every handle made
/// once, when the pool is built.
package final class SubscriptionMetrics: Sendable {
    let handled: Counter
    let retried: Counter
    let deadLettered: Counter
    let discarded: Counter
    let durationSuccess: Timer
    let durationFailure: Timer
    let inFlight: Gauge
    let inboxDepth: Gauge
    private let factory: any MetricsFactory
    private let dimensions: [(String, String)]
    private let lagGauges = Mutex<[Int32: Gauge]>([:])

    /// The metrics of a pool labelled with `configuration`'s dimensions; nil when its factory is
    /// the no-op one.
    package static func make(_ configuration: ActorPoolConfiguration) -> SubscriptionMetrics? {
        guard BusMetrics.isEnabled(configuration.metricsFactory) else { return nil }
        return SubscriptionMetrics(factory: configuration.metricsFactory, dimensions: configuration.metricsDimensions)
    }

    private init(factory: any MetricsFactory, dimensions: [(String, String)]) {
        self.factory = factory
        self.dimensions = dimensions
        func counter(_ outcome: String) -> Counter {
            Counter(
                label: BusMetrics.messagesProcessed, dimensions: dimensions + [("outcome", outcome)], factory: factory)
        }
        handled = counter("handled")
        retried = counter("retried")
        deadLettered = counter("dead_lettered")
        discarded = counter("discarded")
        durationSuccess = Timer(
            label: BusMetrics.processDuration, dimensions: dimensions + [("outcome", "success")], factory: factory)
        durationFailure = Timer(
            label: BusMetrics.processDuration, dimensions: dimensions + [("outcome", "failure")], factory: factory)
        inFlight = Gauge(label: BusMetrics.messagesInFlight, dimensions: dimensions, factory: factory)
        inboxDepth = Gauge(label: BusMetrics.inboxDepth, dimensions: dimensions, factory: factory)
    }

    /// Records one handler call that took `elapsed`.
    func recordCall(_ elapsed: Duration, succeeded: Bool) {
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        (succeeded ? durationSuccess : durationFailure).recordNanoseconds(nanoseconds)
    }

    /// Sets the lag gauges from a reading; a gauge per partition, made when first seen.
    package func record(_ lag: ConsumerLag) {
        let gauges = lagGauges.withLock { gauges in
            lag.partitions.map { entry in
                if let existing = gauges[entry.partition] { return existing }
                let made = Gauge(
                    label: BusMetrics.consumerLag, dimensions: dimensions + [("partition", String(entry.partition))],
                    factory: factory)
                gauges[entry.partition] = made
                return made
            }
        }
        for (gauge, entry) in zip(gauges, lag.partitions) { gauge.record(entry.lag) }
    }

    /// A counter of this subscription beside the scheme's own, such as
    /// ``BusMetrics/revocationTimeouts``.
    package static func counter(_ label: String, _ configuration: ActorPoolConfiguration) -> Counter {
        Counter(label: label, dimensions: configuration.metricsDimensions, factory: configuration.metricsFactory)
    }
}
