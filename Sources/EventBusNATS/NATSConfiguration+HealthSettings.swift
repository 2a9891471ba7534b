extension NATSConfiguration {
    /// How ``NATSEventBus/health()`` judges the connection to nats-server
    /// (`Docs/Observability.md`, "Health").
    ///
    /// While nats.c reports the connection connected, each `health()` call makes one round trip
    /// (a `PING` answered by `PONG`, `natsConnection_FlushTimeout`) waiting at most
    /// ``probeTimeout``: a server that is paused or wedged keeps the TCP connection open, so nats.c
    /// alone would still call it connected. While the connection is lost (disconnected,
    /// reconnecting) or the probe fails, the bus is `degraded`; once the server has been
    /// unreachable for ``unhealthyAfter`` (counted from nats.c's disconnect callback or the first
    /// failed probe, whichever came first), `unhealthy`. The same rules and defaults as
    /// `KafkaHealthOptions` on the Kafka backend.
    public struct HealthSettings: Sendable, Equatable {
        /// How long one health check waits for the server's `PONG`. Default 2 s; must be positive.
        public var probeTimeout: Duration
        /// How long the server may be unreachable before the bus reports `unhealthy` rather than
        /// `degraded`. Default 30 s; must not be negative.
        public var unhealthyAfter: Duration

        /// Creates health settings with the defaults above.
        public init(probeTimeout: Duration = .seconds(2), unhealthyAfter: Duration = .seconds(30)) {
            self.probeTimeout = probeTimeout
            self.unhealthyAfter = unhealthyAfter
        }
    }
}
