import EventBus
import Histogram
import Synchronization

/// Records, from inside the handlers, what a pressure run needs: order, duplicates, latency, faults.
///
/// State is sharded by aggregate so 256 concurrent actors rarely meet on one lock. Every member of a
/// group records into the same recorder, so uniqueness, duplicates and order are judged per message
/// across the whole group, whichever member handled it.
final class PressureRecorder: Sendable {
    enum Verdict {
        case recorded
        case injectFailure
    }

    private struct Shard {
        var nextVersion: [Int]
        var seen: [Bool]
        var failedOnce: [Bool]
        var handledByMember: [Int]
        var latencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var duplicates = 0
        var violations = 0
        var lastHandledNanos: Int64 = 0
    }

    private final class ShardBox: Sendable {
        let state: Mutex<Shard>
        init(_ shard: Shard) { state = Mutex(shard) }
    }

    private static let shardCount = 64
    private let workload: PressureWorkload
    private let shards: [ShardBox]
    private let handledCount = Atomic<Int>(0)
    private let deadLetterCount = Atomic<Int>(0)
    private let runningHandlers = Atomic<Int>(0)

    init(workload: PressureWorkload) {
        self.workload = workload
        let perShard = (workload.aggregates + Self.shardCount - 1) / Self.shardCount
        let versions = workload.versionsPerAggregate
        shards = (0..<Self.shardCount).map { _ in
            ShardBox(
                Shard(
                    nextVersion: Array(repeating: 1, count: perShard),
                    seen: Array(repeating: false, count: perShard * (versions + 1)),
                    failedOnce: Array(repeating: false, count: perShard * (versions + 1)),
                    handledByMember: Array(repeating: 0, count: max(1, workload.members))
                )
            )
        }
    }

    /// Distinct messages handled so far.
    var uniqueHandled: Int { handledCount.load(ordering: .relaxed) }
    /// Dead letters received so far.
    var deadLettered: Int { deadLetterCount.load(ordering: .relaxed) }
    /// Handlers inside ``record(_:)`` right now.
    var running: Int { runningHandlers.load(ordering: .relaxed) }

    func recordDeadLetter() { deadLetterCount.add(1, ordering: .relaxed) }

    func enter() { runningHandlers.add(1, ordering: .relaxed) }
    func leave() { runningHandlers.subtract(1, ordering: .relaxed) }

    /// Records one envelope handled by group member `member` (0-based), or says to fail it as the
    /// workload's fault injection demands.
    func record(_ envelope: Envelope, member: Int = 0) -> Verdict {
        let now = EventTimestamp.now().nanosecondsSinceEpoch
        guard let aggregate = Self.aggregateIndex(envelope.aggregateID), aggregate < workload.aggregates else {
            return .recorded
        }
        let version = Int(envelope.eventVersion)
        if workload.alwaysFails(aggregate: aggregate, version: version) { return .injectFailure }
        let failsOnce = workload.failsOnce(aggregate: aggregate, version: version)
        let latency = UInt64(max(0, now - envelope.timestamp.nanosecondsSinceEpoch) / 1000)
        let slot = aggregate / Self.shardCount
        let versions = workload.versionsPerAggregate
        let verdict = shards[aggregate % Self.shardCount].state.withLock { shard -> Verdict in
            let index = slot * (versions + 1) + version
            if failsOnce && !shard.failedOnce[index] {
                shard.failedOnce[index] = true
                return .injectFailure
            }
            if shard.seen[index] {
                shard.duplicates += 1
                return .recorded
            }
            shard.seen[index] = true
            shard.handledByMember[member] += 1
            var expected = shard.nextVersion[slot]
            while expected <= versions && workload.alwaysFails(aggregate: aggregate, version: expected) {
                expected += 1
            }
            if version != expected { shard.violations += 1 }
            shard.nextVersion[slot] = max(expected, version) + 1
            _ = shard.latencies.record(latency)
            shard.lastHandledNanos = max(shard.lastHandledNanos, now)
            return .recorded
        }
        if case .recorded = verdict { handledCount.add(1, ordering: .relaxed) }
        return verdict
    }

    /// Merged figures of all shards.
    func summary() -> (
        latencies: Histogram<UInt64>, duplicates: Int, violations: Int, lastHandledNanos: Int64,
        handledPerMember: [Int]
    ) {
        var latencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var duplicates = 0
        var violations = 0
        var last: Int64 = 0
        var perMember = Array(repeating: 0, count: max(1, workload.members))
        for shard in shards {
            shard.state.withLock { shard in
                latencies.add(shard.latencies)
                duplicates += shard.duplicates
                violations += shard.violations
                last = max(last, shard.lastHandledNanos)
                for (member, count) in shard.handledByMember.enumerated() { perMember[member] += count }
            }
        }
        return (latencies, duplicates, violations, last, perMember)
    }

    /// The number at the end of an aggregate ID such as `agg-42`.
    static func aggregateIndex(_ id: String) -> Int? {
        var value = 0
        var multiplier = 1
        var digits = 0
        for byte in id.utf8.reversed() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { break }
            value += Int(byte - UInt8(ascii: "0")) * multiplier
            multiplier *= 10
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
