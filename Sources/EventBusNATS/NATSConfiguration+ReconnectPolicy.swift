extension NATSConfiguration {
    /// How a lost connection is re-established; publishes made meanwhile wait in a bounded buffer.
    public struct ReconnectPolicy: Sendable, Equatable {
        /// Attempts before giving up; -1 retries forever. Default -1, so a broker restart never
        /// closes the bus for good.
        public var maxReconnects: Int
        /// The pause between attempts against one server. Default 250 ms.
        public var wait: Duration
        /// Bytes of publishes buffered while disconnected; past it a publish fails retriably.
        /// Default 8 MiB.
        public var bufferSize: Int
        /// Whether the first connection is retried in the background instead of failing. Default
        /// false: a misconfigured URL fails fast at `connect`.
        public var retryOnFailedConnect: Bool

        /// Creates a policy with the defaults above.
        public init(
            maxReconnects: Int = -1,
            wait: Duration = .milliseconds(250),
            bufferSize: Int = 8 * 1024 * 1024,
            retryOnFailedConnect: Bool = false
        ) {
            self.maxReconnects = maxReconnects
            self.wait = wait
            self.bufferSize = bufferSize
            self.retryOnFailedConnect = retryOnFailedConnect
        }
    }
}
