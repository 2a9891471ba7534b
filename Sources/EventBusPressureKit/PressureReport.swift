/// What one pressure run measured.
public struct PressureReport: Sendable, Codable {
    /// The backend's name.
    public var backend: String
    /// The level's name.
    public var level: String
    /// Subscriptions (group members) per topic's consumer group; 1 unless the run asked for more.
    public var members: Int
    /// Messages published.
    public var published: Int
    /// Distinct messages whose handler succeeded.
    public var uniqueHandled: Int
    /// Handler successes beyond the first for one message (redeliveries).
    public var duplicates: Int
    /// Messages received on dead-letter topics.
    public var deadLettered: Int
    /// Messages the workload made fail on purpose on every attempt.
    public var expectedDeadLetters: Int
    /// Messages handled while an earlier version of their aggregate was not yet handled, judged
    /// across all members of a group.
    public var orderViolations: Int
    /// First deliveries handled by each member (index = member, summed over topics): shows how the
    /// group shared the work, and which members stayed idle (more members than partitions).
    public var handledPerMember: [Int]
    /// Seconds from the first publish to the last handled message.
    public var durationSeconds: Double
    /// Messages per second over that span.
    public var throughput: Double
    /// Publish-to-handler latency percentiles and maximum, in milliseconds.
    public var latencyP50Milliseconds: Double
    public var latencyP99Milliseconds: Double
    public var latencyP999Milliseconds: Double
    public var latencyMaxMilliseconds: Double
    /// Process CPU (user + system) from the first publish to the last handled message, per
    /// message, in microseconds: publishers, bus and handlers together; a broker's own CPU is not
    /// in it. What a message costs, where throughput also depends on what else the machine runs.
    public var cpuMicrosecondsPerMessage: Double
    /// Seconds the subscriptions took to become ready, not counted in throughput.
    public var subscribeSeconds: Double
    /// RSS after shutdown minus RSS before the bus was built, in MB.
    public var memoryIncrementMB: Double
    /// Peak RSS during the run minus RSS before, in MB.
    public var peakIncrementMB: Double
    /// Threads and file descriptors before the bus was built and after it shut down.
    public var threadsBefore: Int
    public var threadsAfter: Int
    public var fileDescriptorsBefore: Int
    public var fileDescriptorsAfter: Int
    /// Handlers still running after shutdown returned.
    public var leakedTasks: Int
    /// True when every message arrived before the completion timeout.
    public var completed: Bool

    /// Unique handled over messages expected to succeed, as a percentage.
    public var successRate: Double {
        let expected = published - expectedDeadLetters
        return expected > 0 ? Double(uniqueHandled) / Double(expected) * 100 : 100
    }

    /// Threads the run left behind.
    public var leakedThreads: Int { max(0, threadsAfter - threadsBefore) }
    /// File descriptors the run left behind.
    public var leakedFileDescriptors: Int { max(0, fileDescriptorsAfter - fileDescriptorsBefore) }
}
