import EventBus
import EventBusNATS
import Foundation

extension PressureTarget {
    /// NATS JetStream at `EVENTBUS_NATS_URL` (default `nats://127.0.0.1:4222`), on a stream of its
    /// own whose messages expire after an hour so repeated runs do not fill the disk.
    public static func nats(environment: [String: String] = ProcessInfo.processInfo.environment) -> PressureTarget {
        var configuration = NATSConfiguration(servers: [environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"])
        configuration.stream.name = "EVENTBUS_PRESSURE"
        configuration.subjectPrefix = "pressure"
        configuration.stream.maxAge = .seconds(3600)
        configuration.logger.logLevel = .warning
        configuration.pool.logger = quietPoolLogger
        // Knobs for experiments without rebuilding.
        if let batch = environment["EVENTBUS_NATS_FETCH_BATCH"].flatMap(Int.init) {
            configuration.consumer.fetchBatch = batch
        }
        if let pending = environment["EVENTBUS_NATS_MAX_ACK_PENDING"].flatMap(Int.init) {
            configuration.consumer.maxAckPending = pending
        }
        if let partitions = environment["EVENTBUS_NATS_PARTITIONS"].flatMap(Int.init) {
            configuration.partitionsPerTopic = partitions
        }
        if let actors = environment["EVENTBUS_POOL_ACTORS"].flatMap(Int.init) {
            configuration.pool.actorCount = actors
        }
        let settings = configuration
        return PressureTarget(
            backend: "nats",
            makeBus: { try await NATSEventBus.connect(settings) },
            topicName: { runID, index in "p\(runID)-t\(index)" },
            removeGroups: { bus, topics, group in
                // Durable consumers outlive the run; without this every run leaves ten behind.
                guard let bus = bus as? NATSEventBus else { return }
                for topic in topics {
                    _ = try? await bus.deleteGroup(topic: topic, group: group)
                    _ = try? await bus.deleteGroup(topic: topic, group: group + "-dlq")
                }
            }
        )
    }
}
