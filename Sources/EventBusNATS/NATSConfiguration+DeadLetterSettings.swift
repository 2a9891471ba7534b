extension NATSConfiguration {
    /// Where messages that failed every attempt are written.
    public struct DeadLetterSettings: Sendable, Equatable {
        /// Appended to a topic's subject: dead letters of `eventbus.orders` go to
        /// `eventbus.orders.dlq`. Default `.dlq`.
        public var subjectSuffix: String
        /// The stream capturing `<subjectPrefix>.*<subjectSuffix>`; empty means `<stream name>_DLQ`.
        /// Default empty.
        public var streamName: String

        /// Creates settings with the defaults above.
        public init(subjectSuffix: String = ".dlq", streamName: String = "") {
            self.subjectSuffix = subjectSuffix
            self.streamName = streamName
        }
    }
}
