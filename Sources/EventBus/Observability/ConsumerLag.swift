/// How far a consumer group is behind a topic: messages the group has not yet acknowledged, per
/// partition and in total. Read it with ``EventBus/consumerLag(topic:group:)``.
///
/// Every number counts **messages** (not bytes). What a partition's lag counts per backend
/// (`Docs/Observability.md`, "Consumer lag"):
/// - Kafka: the partition's high watermark minus the group's committed offset; a partition the
///   group never committed counts from where the group would start reading (the low watermark with
///   `autoOffsetReset` `.earliest`, the high watermark with `.latest`).
/// - NATS JetStream: per durable consumer (one per partition lane, plus one for the topic's plain
///   subject), `num_pending + num_ack_pending` from the consumer's info; a consumer that does not
///   exist yet counts every message of its filter subject the stream holds (where it would start).
/// - In-memory: retained messages of the partition the group has no outcome for (retained minus
///   acknowledged); a group that never subscribed counts every retained message.
public struct ConsumerLag: Sendable, Equatable {
    /// One partition's lag.
    public struct Partition: Sendable, Equatable {
        /// The partition, numbered as ``ReceivedMessage/partition`` numbers it. On NATS the
        /// topic's plain-subject lane is the number after the last partition.
        public var partition: Int32
        /// Messages of this partition the group has not yet acknowledged; never negative.
        public var lag: Int64

        /// Creates an entry; a negative `lag` is stored as 0.
        public init(partition: Int32, lag: Int64) {
            self.partition = partition
            self.lag = max(0, lag)
        }
    }

    /// The topic it was read for.
    public var topic: String
    /// The consumer group it was read for.
    public var group: String
    /// Per partition, in ascending partition order.
    public var partitions: [Partition]

    /// Creates a reading; `partitions` are sorted by partition.
    public init(topic: String, group: String, partitions: [Partition]) {
        self.topic = topic
        self.group = group
        self.partitions = partitions.sorted { $0.partition < $1.partition }
    }

    /// The sum of every partition's lag, in messages.
    public var total: Int64 { partitions.reduce(0) { $0 + $1.lag } }
}
