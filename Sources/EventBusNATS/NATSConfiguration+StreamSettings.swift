extension NATSConfiguration {
    /// The JetStream stream holding the topics; created when missing, checked when present.
    public struct StreamSettings: Sendable, Equatable {
        /// Where the stream keeps messages.
        public enum Storage: String, Sendable, Equatable {
            /// On disk: survives a server restart.
            case file
            /// In memory: faster, lost on restart.
            case memory
        }

        /// When the server may remove messages.
        public enum Retention: String, Sendable, Equatable {
            /// Kept until a limit (age, bytes, count) removes them; every group reads everything.
            case limits
            /// Kept while some consumer still needs them.
            case interest
            /// Removed once acknowledged; allows one consumer per subject only.
            case workQueue
        }

        /// The stream's name. Default `EVENTBUS`.
        public var name: String
        /// The subjects it captures; empty means `<subjectPrefix>.*`. Default empty.
        public var subjects: [String]
        /// Default `.file`, so acknowledged messages survive a broker restart.
        public var storage: Storage
        /// Default `.limits`.
        public var retention: Retention
        /// Copies kept in a cluster. Default 1.
        public var replicas: Int
        /// Oldest message kept; zero keeps them forever. Default zero.
        public var maxAge: Duration
        /// Byte limit; -1 is unlimited. Default -1.
        public var maxBytes: Int64
        /// Message limit; -1 is unlimited. Default -1.
        public var maxMessages: Int64
        /// How long the server remembers a `Nats-Msg-Id` to drop a republished event. Default 2 min.
        public var duplicateWindow: Duration

        /// Creates settings with the defaults above.
        public init(
            name: String = "EVENTBUS",
            subjects: [String] = [],
            storage: Storage = .file,
            retention: Retention = .limits,
            replicas: Int = 1,
            maxAge: Duration = .zero,
            maxBytes: Int64 = -1,
            maxMessages: Int64 = -1,
            duplicateWindow: Duration = .seconds(120)
        ) {
            self.name = name
            self.subjects = subjects
            self.storage = storage
            self.retention = retention
            self.replicas = replicas
            self.maxAge = maxAge
            self.maxBytes = maxBytes
            self.maxMessages = maxMessages
            self.duplicateWindow = duplicateWindow
        }
    }
}
