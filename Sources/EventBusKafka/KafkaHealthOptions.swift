import EventBus

/// How ``KafkaEventBus/health()`` judges broker connectivity.
///
/// Each `health()` call asks the cluster for its metadata (a request every broker answers, the
/// cheapest that proves a round trip), waiting at most ``probeTimeout``. While no broker answers,
/// the bus is `degraded`; once none has answered for ``unhealthyAfter`` (counted from the first
/// failed probe or librdkafka's "all brokers down" error, whichever came first), `unhealthy`.
/// The rules of every backend: `Docs/Observability.md`, "Health".
public struct KafkaHealthOptions: Sendable, Equatable {
    /// How long one health check waits for the cluster's metadata. Default 2 s; must be positive.
    public var probeTimeout: Duration
    /// How long the brokers may be unreachable before the bus reports `unhealthy` rather than
    /// `degraded`. Default 30 s; must not be negative.
    public var unhealthyAfter: Duration

    /// Creates health options.
    public init(probeTimeout: Duration = .seconds(2), unhealthyAfter: Duration = .seconds(30)) {
        self.probeTimeout = probeTimeout
        self.unhealthyAfter = unhealthyAfter
    }
}
