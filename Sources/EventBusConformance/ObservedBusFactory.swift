import CoreMetrics
import EventBus

/// Builds a backend's bus with observability settings a scenario chooses, for the scenarios that
/// check metrics, consumer lag and health (``ConformanceScenarioID/reportsMetrics``,
/// ``ConformanceScenarioID/reportsConsumerLag``).
public struct ObservedBusFactory: Sendable {
    /// The settings a scenario asks for; apply them to the configuration's
    /// `EventBus.ActorPoolConfiguration` with ``apply(to:)``.
    public struct Options: Sendable {
        /// Where the bus reports its metrics (a `MetricsTestKit.TestMetrics` in the scenarios).
        public var metricsFactory: any MetricsFactory
        /// How often subscriptions sample their gauges.
        public var metricsSampleInterval: Duration
        /// The health bound on consumer lag, or nil.
        public var maxConsumerLag: Int64?

        /// Sets these options on `pool`.
        public func apply(to pool: inout ActorPoolConfiguration) {
            pool.metricsFactory = metricsFactory
            pool.metricsSampleInterval = metricsSampleInterval
            pool.maxConsumerLag = maxConsumerLag
        }
    }

    /// The value of the `backend` metrics dimension the bus reports (its `messaging.system`).
    public var backend: String
    /// Returns a new bus configured with the options; scenarios shut down what they build.
    public var makeBus: @Sendable (Options) async throws -> any EventBus

    /// Creates a factory.
    public init(backend: String, makeBus: @escaping @Sendable (Options) async throws -> any EventBus) {
        self.backend = backend
        self.makeBus = makeBus
    }
}
