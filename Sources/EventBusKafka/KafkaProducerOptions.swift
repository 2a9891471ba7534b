/// How the producer trades latency, durability and throughput; defaults favour durability.
public struct KafkaProducerOptions: Sendable, Equatable {
    /// How many replicas must acknowledge a write before a publish returns.
    public enum Acks: String, Sendable, Equatable {
        /// The leader only: faster, but a leader crash can lose acknowledged messages.
        case leader = "1"
        /// Every in-sync replica: what idempotence requires and the default.
        case all = "all"
    }

    /// Compression applied to whole batches on the wire.
    public enum Compression: String, Sendable, Equatable {
        case none, gzip, snappy, lz4, zstd
    }

    /// Replica acknowledgement level. Default ``Acks/all``.
    public var acks: Acks
    /// Whether retried sends are deduplicated by the broker (no duplicates, order kept). Default true.
    public var idempotent: Bool
    /// How long the producer waits to fill a batch; small values keep publish latency low. Default 5 ms.
    public var linger: Duration
    /// Upper bound of one batch in bytes. Default 1 MB.
    public var batchSizeBytes: Int
    /// Batch compression. Default none (loopback and small events gain nothing from it).
    public var compression: Compression
    /// How long librdkafka keeps trying to deliver a message before `publish` fails. Default 30 s.
    public var messageTimeout: Duration
    /// How many messages may wait in librdkafka's local queue; a publish beyond it waits. Default 1,000,000.
    public var queueCapacity: Int

    /// Creates producer options with the documented defaults.
    public init(
        acks: Acks = .all,
        idempotent: Bool = true,
        linger: Duration = .milliseconds(5),
        batchSizeBytes: Int = 1_000_000,
        compression: Compression = .none,
        messageTimeout: Duration = .seconds(30),
        queueCapacity: Int = 1_000_000
    ) {
        self.acks = acks
        self.idempotent = idempotent
        self.linger = linger
        self.batchSizeBytes = batchSizeBytes
        self.compression = compression
        self.messageTimeout = messageTimeout
        self.queueCapacity = queueCapacity
    }
}
