import EventBus

extension ConformanceFeatures {
    /// How the slow-handler scenario loads a bus and what it may hold.
    ///
    /// A bus with the reference capacities (256 inboxes of 1,000) never fills up with a test-sized
    /// load, so the scenario takes its own bus, built with small capacities, and the bound those
    /// capacities imply.
    public struct Backpressure: Sendable {
        /// The most messages that may be published but not yet handled at any moment; nil for brokers
        /// that store unhandled messages durably, where only the process's memory is checked.
        public var maxInFlight: Int?
        /// Builds the small-capacity bus; nil uses the suite's factory.
        public var makeBus: (@Sendable () async throws -> any EventBus)?
        /// How many messages are published. Default 20,000.
        public var messageCount: Int
        /// Bytes per payload, large enough that unbounded buffering shows in memory. Default 4,096.
        public var payloadSize: Int
        /// How long a handler pauses per message. Default 200 µs.
        public var handlerPause: Duration
        /// How much resident memory may grow while the scenario runs. Default 48 MiB.
        public var maxResidentGrowthBytes: Int

        /// Creates a load description.
        public init(
            maxInFlight: Int?,
            makeBus: (@Sendable () async throws -> any EventBus)? = nil,
            messageCount: Int = 20_000,
            payloadSize: Int = 4096,
            handlerPause: Duration = .microseconds(200),
            maxResidentGrowthBytes: Int = 48 << 20
        ) {
            self.maxInFlight = maxInFlight
            self.makeBus = makeBus
            self.messageCount = messageCount
            self.payloadSize = payloadSize
            self.handlerPause = handlerPause
            self.maxResidentGrowthBytes = maxResidentGrowthBytes
        }
    }
}
