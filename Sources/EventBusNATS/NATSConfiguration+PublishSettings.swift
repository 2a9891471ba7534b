extension NATSConfiguration {
    /// Limits of the asynchronous JetStream publisher.
    public struct PublishSettings: Sendable, Equatable {
        /// Publishes sent but not yet acknowledged; more wait. Default 4096. Also bounds the messages
        /// of `publishPipelined` calls queued or unacknowledged: a call waits for room beyond it.
        public var maxPending: Int
        /// How long a publish waits for the server's PubAck before failing retriably (the event
        /// may be stored; publishing it again is deduplicated by its ID). Default 10 s.
        ///
        /// It is also the connection's write deadline: a socket write the server has not taken
        /// for this long (a server that stopped reading) fails, and the connection reconnects,
        /// since every publish, acknowledgement and pull waits behind that write. Rounded to
        /// milliseconds, at least 1 ms.
        public var ackTimeout: Duration

        /// Creates settings with the defaults above.
        public init(maxPending: Int = 4096, ackTimeout: Duration = .seconds(10)) {
            self.maxPending = maxPending
            self.ackTimeout = ackTimeout
        }
    }
}
