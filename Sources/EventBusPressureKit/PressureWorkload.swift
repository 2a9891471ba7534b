import EventBus

/// The reference workload: how many messages, over which topics and aggregates, with which faults.
///
/// Aggregates are `messages / 10` clamped to 50...1000; each gets `messages / aggregates` versions.
/// Aggregate `i` publishes to topic `i % topics`, so every topic carries whole aggregates.
public struct PressureWorkload: Sendable, Codable {
    /// The level this workload reproduces.
    public var level: PressureLevel
    /// Topics the messages are spread over. Default 5.
    public var topics: Int
    /// Concurrent publisher tasks, rounded up to a multiple of the topic count; each owns a share
    /// of one topic's aggregates and publishes their versions in order. Default 10.
    public var publishers: Int
    /// Envelopes per publish call; a publisher sends several versions of its aggregates at once,
    /// still in order per aggregate. Default 256.
    public var publishBatchSize: Int
    /// Subscriptions (group members) per topic's consumer group, all on the one bus of the run.
    /// Default 1. Each is a separate group member on Kafka and NATS; on the in-memory bus the members
    /// share the topic's partitions. Must lie in ``memberRange``.
    public var members: Int
    /// Share of messages whose handler throws on the first attempt only (0.01 = 1 %). Default 0.
    public var failOnceRate: Double
    /// Share of messages whose handler always throws, so they are dead-lettered. Default 0.
    public var alwaysFailRate: Double
    /// How long to wait for the last message before reporting what arrived. Default 120 s.
    public var completionTimeout: Duration

    /// Creates a workload for `level`.
    public init(
        level: PressureLevel,
        topics: Int = 5,
        publishers: Int = 10,
        publishBatchSize: Int = 256,
        members: Int = 1,
        failOnceRate: Double = 0,
        alwaysFailRate: Double = 0,
        completionTimeout: Duration = .seconds(120)
    ) {
        self.level = level
        self.topics = topics
        self.publishers = publishers
        self.publishBatchSize = publishBatchSize
        self.members = members
        self.failOnceRate = failOnceRate
        self.alwaysFailRate = alwaysFailRate
        self.completionTimeout = completionTimeout
    }

    /// The member counts a run accepts. One member is the reference shape; a member beyond a topic's
    /// partitions (8 on the in-memory bus and on NATS) only waits idle, so more than 16 would measure
    /// nothing new. On Kafka such a member cannot join at all: see ``PressureTarget/maxMembers``.
    public static let memberRange = 1...16

    /// Throws `invalidArgument` when ``members`` is outside ``memberRange`` or above what `target`
    /// can run (``PressureTarget/maxMembers``).
    public func validate(for target: PressureTarget) throws(EventBusError) {
        guard Self.memberRange.contains(members) else {
            throw EventBusError(
                .invalidArgument,
                "members must be between \(Self.memberRange.lowerBound) and \(Self.memberRange.upperBound), got \(members)",
                field: "members")
        }
        guard members <= target.maxMembers else {
            throw EventBusError(
                .invalidArgument,
                "\(target.backend) runs at most \(target.maxMembers) members per group (one per partition), got \(members)",
                field: "members")
        }
    }

    /// Aggregates in the run.
    public var aggregates: Int { min(max(level.messages / 10, 50), 1000) }
    /// Versions per aggregate.
    public var versionsPerAggregate: Int { max(1, level.messages / aggregates) }
    /// Messages actually published: aggregates × versions.
    public var totalMessages: Int { aggregates * versionsPerAggregate }

    /// Publisher tasks actually started: `publishers` rounded up to a multiple of `topics`.
    public var publisherTasks: Int { max(1, (publishers + topics - 1) / topics) * topics }

    /// Messages published and not yet acknowledged when every publisher has a call in flight.
    ///
    /// By Little's law the mean latency is at least this over the throughput: at the extreme level
    /// 2,000 messages at 40,000 msg/s wait 50 ms on average, whatever the backend.
    public var publishWindow: Int {
        let owned = max(1, aggregates / publisherTasks)
        let versionsPerCall = min(versionsPerAggregate, max(1, publishBatchSize / owned))
        return aggregates * versionsPerCall
    }

    /// Whether the handler should always fail for this message.
    func alwaysFails(aggregate: Int, version: Int) -> Bool {
        Self.selected(aggregate: aggregate, version: version, rate: alwaysFailRate, salt: 7)
    }

    /// Whether the handler should fail on the first attempt for this message.
    func failsOnce(aggregate: Int, version: Int) -> Bool {
        !alwaysFails(aggregate: aggregate, version: version)
            && Self.selected(aggregate: aggregate, version: version, rate: failOnceRate, salt: 3)
    }

    /// Messages the workload makes fail on every attempt.
    public var expectedDeadLetters: Int {
        var count = 0
        for aggregate in 0..<aggregates {
            for version in 1...versionsPerAggregate where alwaysFails(aggregate: aggregate, version: version) {
                count += 1
            }
        }
        return count
    }

    /// Picks one message in `1 / rate` spread over aggregates and versions: for each version the
    /// multiplier 31 (coprime with any period of 2s and 5s) picks different aggregates.
    private static func selected(aggregate: Int, version: Int, rate: Double, salt: Int) -> Bool {
        guard rate > 0 else { return false }
        let period = max(1, Int((1 / rate).rounded()))
        return (aggregate &* 31 &+ version &* 17 &+ salt) % period == 0
    }
}
