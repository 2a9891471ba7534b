import EventBus
import Histogram

/// Runs the reference workload against a backend and measures it.
///
/// The same code drives `eventbus-pressure` and the `PerformanceRegression` test suites, so the
/// figures in the report and the figures the tests assert on are one measurement, not two.
public enum PressureRunner {
    /// The JSON body of every event: about 40 bytes, like the reference report's payload. Public so
    /// the compare tools' raw clients send the same body.
    public static let payload = Array(#"{"amount":125.50,"currency":"EUR","n":42}"#.utf8)

    /// Publishes the workload, waits for every message to be handled (or the timeout), shuts the
    /// bus down and reports. Throws `invalidArgument` before building a bus when the workload's
    /// member count is out of range or above what the target can run (``PressureTarget/maxMembers``).
    ///
    /// With `settle` (the default) the final thread and descriptor counts are read once they are
    /// back at the baseline, waiting up to 5 s for closed clients' threads to exit. A warm-up run,
    /// whose report is thrown away, passes false: its baseline is taken before the runtime opened
    /// its timer descriptors, so it never settles and always waited the full 5 s.
    public static func run(
        _ workload: PressureWorkload,
        on target: PressureTarget,
        settle: Bool = true,
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws -> PressureReport {
        try workload.validate(for: target)
        let runID = UUIDv7.generate().suffix(12).lowercased()
        let topics = (0..<workload.topics).map { target.topicName(String(runID), $0) }
        let recorder = PressureRecorder(workload: workload)
        let group = "pressure-\(runID)"

        let before = ProcessResources.current()
        ProcessResources.resetPeak()
        let bus = try await target.makeBus()

        let subscribeStart = ContinuousClock.now
        let subscriptions: [any Subscription]
        do {
            subscriptions = try await subscribeAll(
                bus, topics: topics, group: group, workload: workload, target: target, recorder: recorder)
        } catch {
            await bus.shutdown()
            throw error
        }
        let subscribeSeconds = (ContinuousClock.now - subscribeStart).seconds

        let start = EventTimestamp.now().nanosecondsSinceEpoch
        let cpuAtStart = ProcessResources.cpuSeconds()
        do {
            try await publishAll(workload, topics: topics, bus: bus)
        } catch {
            for subscription in subscriptions { await subscription.close() }
            await bus.shutdown()
            throw error
        }
        let expectedDeadLetters = workload.expectedDeadLetters
        let expectedHandled = workload.totalMessages - expectedDeadLetters
        let completed = await waitForCompletion(
            timeout: workload.completionTimeout,
            progress: progress,
            total: workload.totalMessages
        ) {
            recorder.uniqueHandled >= expectedHandled && recorder.deadLettered >= expectedDeadLetters
        }
        let cpuUsed = ProcessResources.cpuSeconds() - cpuAtStart
        let summary = recorder.summary()
        let peak = ProcessResources.current().peakResidentBytes

        for subscription in subscriptions { await subscription.close() }
        await target.removeGroups(bus, topics, group)
        await bus.shutdown()
        let leakedTasks = recorder.running
        let after = settle ? await settledResources(baseline: before) : ProcessResources.current()

        let duration = Double(max(1, summary.lastHandledNanos - start)) / 1e9
        let latencies = summary.latencies
        return PressureReport(
            backend: target.backend,
            level: workload.level.name,
            members: workload.members,
            published: workload.totalMessages,
            uniqueHandled: recorder.uniqueHandled,
            duplicates: summary.duplicates,
            deadLettered: recorder.deadLettered,
            expectedDeadLetters: expectedDeadLetters,
            orderViolations: summary.violations,
            handledPerMember: summary.handledPerMember,
            durationSeconds: duration,
            throughput: Double(recorder.uniqueHandled + recorder.deadLettered) / duration,
            latencyP50Milliseconds: milliseconds(latencies.valueAtPercentile(50)),
            latencyP99Milliseconds: milliseconds(latencies.valueAtPercentile(99)),
            latencyP999Milliseconds: milliseconds(latencies.valueAtPercentile(99.9)),
            latencyMaxMilliseconds: milliseconds(latencies.max),
            cpuMicrosecondsPerMessage: cpuUsed * 1e6 / Double(max(1, workload.totalMessages)),
            subscribeSeconds: subscribeSeconds,
            memoryIncrementMB: megabytes(after.residentBytes - before.residentBytes),
            peakIncrementMB: megabytes(max(peak, after.residentBytes) - before.residentBytes),
            threadsBefore: before.threads,
            threadsAfter: after.threads,
            fileDescriptorsBefore: before.fileDescriptors,
            fileDescriptorsAfter: after.fileDescriptors,
            leakedTasks: leakedTasks,
            completed: completed
        )
    }

    /// Subscribes to all topics at once, `workload.members` members per topic's group: a broker's
    /// group join takes seconds, and they overlap. All members record into one recorder, so it
    /// judges uniqueness and order per group. A dead-letter topic gets one member: it only counts
    /// what the workload made fail, and a rebalance there would add nothing to measure.
    static func subscribeAll(
        _ bus: any EventBus,
        topics: [String],
        group: String,
        workload: PressureWorkload,
        target: PressureTarget,
        recorder: PressureRecorder
    ) async throws -> [any Subscription] {
        try await withThrowingTaskGroup(of: [any Subscription].self) { tasks in
            for topic in topics {
                for member in 0..<workload.members {
                    tasks.addTask {
                        var made: [any Subscription] = [
                            try await bus.subscribe(
                                topic: topic, group: group,
                                envelopeHandler: { envelope in
                                    recorder.enter()
                                    defer { recorder.leave() }
                                    if case .injectFailure = recorder.record(envelope, member: member) {
                                        throw InjectedFailure(
                                            aggregateID: envelope.aggregateID, version: envelope.eventVersion)
                                    }
                                })
                        ]
                        if member == 0 && workload.alwaysFailRate > 0 {
                            made.append(
                                try await bus.subscribe(
                                    topic: target.deadLetterTopic(topic), group: group + "-dlq"
                                ) { _ in
                                    recorder.recordDeadLetter()
                                }
                            )
                        }
                        return made
                    }
                }
            }
            var all: [any Subscription] = []
            for try await made in tasks { all += made }
            return all
        }
    }

    /// Publishers run concurrently; each owns a share of one topic's aggregates and sends their
    /// versions in order, several versions per call. Every topic gets the same number of
    /// publishers, so a broker's acknowledgement round trips overlap across topics without any
    /// publisher waiting on more than one call at a time.
    private static func publishAll(_ workload: PressureWorkload, topics: [String], bus: any EventBus) async throws {
        let perTopic = workload.publisherTasks / topics.count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (topicIndex, topic) in topics.enumerated() {
                for slot in 0..<perTopic {
                    let owned = stride(from: topicIndex, to: workload.aggregates, by: topics.count)
                        .filter { ($0 / topics.count) % perTopic == slot }
                    guard !owned.isEmpty else { continue }
                    group.addTask {
                        try await publish(owned, to: topic, workload: workload, bus: bus)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private static func publish(
        _ aggregates: [Int],
        to topic: String,
        workload: PressureWorkload,
        bus: any EventBus
    ) async throws {
        let versions = workload.versionsPerAggregate
        let step = max(1, workload.publishBatchSize / aggregates.count)
        var first = 1
        while first <= versions {
            let last = min(versions, first + step - 1)
            var envelopes: [Envelope] = []
            envelopes.reserveCapacity(aggregates.count * (last - first + 1))
            for aggregate in aggregates {
                let aggregateID = "agg-\(aggregate)"
                for version in first...last {
                    envelopes.append(
                        Envelope(
                            aggregateID: aggregateID,
                            eventType: "PressureTested",
                            eventVersion: Int64(version),
                            payload: payload
                        )
                    )
                }
            }
            try await bus.publish(envelopes, to: topic)
            first = last + 1
        }
    }

    private static func waitForCompletion(
        timeout: Duration,
        progress: (@Sendable (String) -> Void)?,
        total: Int,
        condition: () -> Bool
    ) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var nextProgress = clock.now.advanced(by: .seconds(5))
        while !condition() {
            let now = clock.now
            if now >= deadline { return false }
            if let progress, now >= nextProgress {
                progress("still waiting for messages of \(total)")
                nextProgress = now.advanced(by: .seconds(5))
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }

    /// Threads of a closed client may take a moment to exit; wait briefly for the counts to settle.
    private static func settledResources(baseline: ProcessResources) async -> ProcessResources {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        var current = ProcessResources.current()
        while (current.threads > baseline.threads || current.fileDescriptors > baseline.fileDescriptors)
            && clock.now < deadline
        {
            try? await Task.sleep(for: .milliseconds(20))
            current = ProcessResources.current()
        }
        return current
    }

    private static func milliseconds(_ microseconds: UInt64) -> Double { Double(microseconds) / 1000 }
    private static func megabytes(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }
}

/// The failure the workload injects into handlers.
struct InjectedFailure: Error, CustomStringConvertible {
    let aggregateID: String
    let version: Int64
    var description: String { "injected failure for \(aggregateID) v\(version)" }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
