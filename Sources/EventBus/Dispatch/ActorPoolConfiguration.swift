import CoreMetrics
import Logging

/// Settings of an ``ActorPool``; the defaults are those of the reference Go system.
public struct ActorPoolConfiguration: Sendable {
    /// How many actors run concurrently; each owns the keys that hash to it. Default 256, the
    /// reference system's.
    ///
    /// Each actor handles at most one message at a time, so this bounds how many handlers run at
    /// once (handlers that await I/O want many). Fewer actors cost less CPU a message when a broker
    /// read spreads over many of them: on NATS end to end, 256 actors cost 0.6-1.5 µs a message
    /// more than 4, most of it already gone at 64 (`Docs/Performance.md`, "Known gaps").
    public var actorCount: Int
    /// How many messages one actor may hold, queued or being handled, before producers wait.
    /// Default 1000.
    public var inboxCapacity: Int
    /// How often a failing handler is restarted for one message before it is dead-lettered.
    /// Default 3.
    public var maxRestarts: Int
    /// The pause before the first restart; it doubles with each further restart. Default 5 ms.
    public var restartBackoff: Duration
    /// The pause between attempts to write a dead letter whose sink failed retriably; the
    /// attempts go on until one succeeds or the subscription closes. Default 100 ms.
    public var deadLetterRetryInterval: Duration
    /// Where the pool logs restarts and dead letters. Default nil: a bus gives its pools its own
    /// configuration's `logger` (so one logger setting covers the bus, its pools and its native
    /// client); a pool built directly logs to `Logger(label: "eventbus.pool")`. Set it to give the
    /// pools a logger of their own, such as one at another level.
    public var logger: Logger?
    /// Where the bus reports every metric of ``BusMetrics`` (publish and consume side, the
    /// backends' own counters too; `Docs/Observability.md`, "Metrics"). Default: the process's
    /// bootstrapped `MetricsSystem`; with swift-metrics' default no-op factory nothing is measured
    /// and no handle is made.
    public var metricsFactory: any MetricsFactory
    /// Dimensions put first on every metric, such as `[("service", "billing")]`; the bus adds
    /// `backend`, `topic`, `group` and the rest (``BusMetrics``). Default none.
    public var metricsDimensions: [(String, String)]
    /// How often each subscription samples its gauges (``BusMetrics/messagesInFlight``,
    /// ``BusMetrics/inboxDepth``, ``BusMetrics/consumerLag``) while a metrics factory other than
    /// the no-op one is set. Reading lag asks the broker (Kafka: an offset fetch plus a watermark
    /// query per partition; NATS: a consumer-info request per lane), so this bounds that cost.
    /// Default 10 s; must be positive.
    public var metricsSampleInterval: Duration
    /// The consumer lag (``ConsumerLag/total``, in messages) above which `health()` reports
    /// `degraded` for a subscription's (topic, group), naming them and the lag. Each `health()`
    /// call then reads the lag of every subscribed (topic, group) once. Default nil: lag is not
    /// checked. Must be at least 0.
    public var maxConsumerLag: Int64?
    /// How long an actor may hold messages without finishing one before the bus's `health()`
    /// reports the subscription stalled (`degraded`, naming it): a handler that hangs stops its
    /// key's later messages. Measured between `health()` calls, so a stall shows on the first call
    /// at least this long after one that saw the actor busy. Default 30 s.
    public var stallTimeout: Duration

    /// The bus's tracing, set by the bus from its configuration's `tracer`; nil when nothing is
    /// traced. ``labelled(topic:group:)`` adds the consumer group.
    package var tracing: MessageTracing?

    /// This configuration with `logger` as the pools' logger unless one of their own was set.
    package func inheritingLogger(_ logger: Logger) -> ActorPoolConfiguration {
        var copy = self
        if copy.logger == nil { copy.logger = logger }
        return copy
    }

    /// The backend's `messaging.system` name, set by the bus (the `backend` metrics dimension);
    /// nil for a pool outside a bus.
    package var backend: String?

    /// Creates a configuration with the reference defaults.
    public init(
        actorCount: Int = 256,
        inboxCapacity: Int = 1000,
        maxRestarts: Int = 3,
        restartBackoff: Duration = .milliseconds(5),
        deadLetterRetryInterval: Duration = .milliseconds(100),
        logger: Logger? = nil,
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        metricsDimensions: [(String, String)] = [],
        stallTimeout: Duration = .seconds(30),
        metricsSampleInterval: Duration = .seconds(10),
        maxConsumerLag: Int64? = nil
    ) {
        self.actorCount = actorCount
        self.inboxCapacity = inboxCapacity
        self.maxRestarts = maxRestarts
        self.restartBackoff = restartBackoff
        self.deadLetterRetryInterval = deadLetterRetryInterval
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.metricsDimensions = metricsDimensions
        self.stallTimeout = stallTimeout
        self.metricsSampleInterval = metricsSampleInterval
        self.maxConsumerLag = maxConsumerLag
    }

    /// Throws when a value is out of range.
    public func validate() throws(EventBusError) {
        guard actorCount >= 1 else {
            throw EventBusError(
                .invalidConfiguration, "actorCount must be at least 1", field: "actorCount")
        }
        guard inboxCapacity >= 1 else {
            throw EventBusError(
                .invalidConfiguration, "inboxCapacity must be at least 1", field: "inboxCapacity")
        }
        guard maxRestarts >= 0 else {
            throw EventBusError(
                .invalidConfiguration, "maxRestarts must not be negative", field: "maxRestarts")
        }
        guard restartBackoff >= .zero, deadLetterRetryInterval >= .zero else {
            throw EventBusError(
                .invalidConfiguration, "intervals must not be negative", field: "restartBackoff")
        }
        guard stallTimeout > .zero else {
            throw EventBusError(.invalidConfiguration, "stallTimeout must be positive", field: "stallTimeout")
        }
        guard metricsSampleInterval > .zero else {
            throw EventBusError(
                .invalidConfiguration, "metricsSampleInterval must be positive", field: "metricsSampleInterval")
        }
        if let maxConsumerLag, maxConsumerLag < 0 {
            throw EventBusError(.invalidConfiguration, "maxConsumerLag must not be negative", field: "maxConsumerLag")
        }
    }

    /// This configuration with `backend` (when set), `topic` and `group` added to the metrics
    /// dimensions: every backend labels a subscription's pool metrics this way.
    package func labelled(topic: String, group: String) -> ActorPoolConfiguration {
        var configuration = self
        if let backend { configuration.metricsDimensions.append(("backend", backend)) }
        configuration.metricsDimensions += [("topic", topic), ("group", group)]
        configuration.tracing?.group = group
        return configuration
    }
}
