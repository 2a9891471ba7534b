import EventBus

/// What a backend supports and how patient the suite must be with it.
///
/// Each backend describes itself once and the suite skips or adapts the scenarios it cannot pass by
/// design (a bus without consumer groups cannot share messages in a group), so one suite serves every
/// backend instead of each backend writing its own tests.
public struct ConformanceFeatures: Sendable {
    /// Whether members of one group share a topic's messages (competing consumers). Default true.
    public var consumerGroups: Bool
    /// Whether messages with the same key are handled one at a time in publish order. Default true.
    public var guaranteedOrderPerKey: Bool
    /// Whether published messages survive a broker restart. Default false.
    public var persistent: Bool
    /// Whether messages a closing member held but had not handled go to another member of its group.
    /// Default true.
    public var redeliversUnhandledOnClose: Bool
    /// Whether two buses from the suite's factory reach one broker, so members on different buses
    /// form one group. False for an in-process bus: its members then share one bus. Default true.
    public var busesShareBroker: Bool
    /// Why the backend cannot yet keep per-key order across membership changes, which skips those
    /// scenarios; nil runs them. Default nil.
    public var membershipOrderGap: String?
    /// Restarts the broker and returns once it serves again; nil when there is no broker to restart.
    public var restartBroker: (@Sendable () async throws -> Void)?
    /// The dead-letter topic of a topic. Default `topic + ".dlq"`.
    public var deadLetterTopic: @Sendable (String) -> String
    /// How often the dispatcher restarts a failing handler before dead-lettering. Default 3.
    public var maxRestarts: Int
    /// Multiplies every deadline, for brokers that need seconds to rebalance. Default 1.
    public var timeoutScale: Double
    /// How many different aggregates must be seen inside handlers at once. Default 2.
    public var minimumObservedConcurrency: Int
    /// How the slow-handler scenario bounds in-flight messages; nil skips it.
    public var backpressure: Backpressure?
    /// Threads and descriptors a shut-down bus may leave behind (caches a library keeps by design).
    public var resourceSlack: ResourceSlack
    /// Whether header values and keys with whitespace at either end arrive as sent; false when the
    /// backend's wire format trims them (NATS headers), so `publish` must refuse them. Default true.
    public var carriesSurroundingWhitespace: Bool
    /// The largest message the broker accepts, in bytes (payload, key and headers); nil when the
    /// backend has no limit. Default nil.
    public var maxMessageBytes: Int?

    /// Creates a description; the defaults fit a bus that supports everything and is fast.
    public init(
        consumerGroups: Bool = true,
        guaranteedOrderPerKey: Bool = true,
        persistent: Bool = false,
        redeliversUnhandledOnClose: Bool = true,
        busesShareBroker: Bool = true,
        membershipOrderGap: String? = nil,
        restartBroker: (@Sendable () async throws -> Void)? = nil,
        deadLetterTopic: @escaping @Sendable (String) -> String = { $0 + ".dlq" },
        maxRestarts: Int = 3,
        timeoutScale: Double = 1,
        minimumObservedConcurrency: Int = 2,
        backpressure: Backpressure? = nil,
        resourceSlack: ResourceSlack = ResourceSlack(),
        carriesSurroundingWhitespace: Bool = true,
        maxMessageBytes: Int? = nil
    ) {
        self.consumerGroups = consumerGroups
        self.guaranteedOrderPerKey = guaranteedOrderPerKey
        self.persistent = persistent
        self.redeliversUnhandledOnClose = redeliversUnhandledOnClose
        self.busesShareBroker = busesShareBroker
        self.membershipOrderGap = membershipOrderGap
        self.restartBroker = restartBroker
        self.deadLetterTopic = deadLetterTopic
        self.maxRestarts = maxRestarts
        self.timeoutScale = timeoutScale
        self.minimumObservedConcurrency = minimumObservedConcurrency
        self.backpressure = backpressure
        self.resourceSlack = resourceSlack
        self.carriesSurroundingWhitespace = carriesSurroundingWhitespace
        self.maxMessageBytes = maxMessageBytes
    }
}
