/// What the cluster's metadata says about one topic.
struct RDKafkaTopicLayout: Sendable, Equatable {
    /// How many partitions the topic has.
    let partitions: Int
    /// How many replicas its first partition has (every partition has the same on topics created
    /// with a replication factor).
    let replicationFactor: Int
}
