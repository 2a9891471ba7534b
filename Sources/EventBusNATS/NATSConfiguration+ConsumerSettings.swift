extension NATSConfiguration {
    /// How each (topic, group) durable pull consumer is created and read.
    public struct ConsumerSettings: Sendable, Equatable {
        /// Durable names are `<durablePrefix>_<topic>_<group>`: members of a group share one.
        /// Default `eventbus`.
        public var durablePrefix: String
        /// How long the server waits for an ack before redelivering. Default 30 s; long handlers
        /// send in-progress acks every third of it.
        public var ackWait: Duration
        /// Deliveries before the server gives up on a message; -1 is unlimited. Default -1, since
        /// the pool dead-letters poison messages itself.
        public var maxDeliver: Int
        /// Unacknowledged messages the server lets one durable hold: the backpressure bound.
        /// Default 8192.
        public var maxAckPending: Int
        /// Messages asked for per pull request. Default 1024. Messages are handed on as they
        /// arrive, not when the batch is complete, so a large batch adds no latency; a new request
        /// is sent while half a batch is still owed, so at most 1.5 batches are in transit.
        public var fetchBatch: Int
        /// How long one pull request stays open on an idle consumer before it is renewed.
        /// Default 500 ms.
        public var fetchWait: Duration
        /// How long a group member may stay silent before the others take its partitions over:
        /// members announce themselves every fifth of it, and it is the pinned-client timeout of
        /// every partition consumer, so it bounds the takeover after a crash. Default 5 s.
        public var memberTimeout: Duration

        /// Creates settings with the defaults above.
        public init(
            durablePrefix: String = "eventbus",
            ackWait: Duration = .seconds(30),
            maxDeliver: Int = -1,
            maxAckPending: Int = 8192,
            fetchBatch: Int = 1024,
            fetchWait: Duration = .milliseconds(500),
            memberTimeout: Duration = .seconds(5)
        ) {
            self.durablePrefix = durablePrefix
            self.ackWait = ackWait
            self.maxDeliver = maxDeliver
            self.maxAckPending = maxAckPending
            self.fetchBatch = fetchBatch
            self.fetchWait = fetchWait
            self.memberTimeout = memberTimeout
        }
    }
}
