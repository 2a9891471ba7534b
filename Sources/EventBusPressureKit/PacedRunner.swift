import EventBus
import Foundation
import Histogram

/// An open-loop run: messages offered at a fixed rate for a fixed time, whatever the bus does.
///
/// The burst levels measure what a backlog costs; by Little's law their latency is set by how much
/// the workload keeps in flight. A paced run measures what a service feels at a steady rate below
/// saturation. Message `k` (0-based, over all topics) is due at `start + k / rate`; it is stamped
/// with that due time, not with the time it was sent, so a publisher that falls behind shows as
/// latency instead of hiding it (the coordinated-omission trap). A publisher that is late sends
/// everything already due in one call.
///
/// The shape is the burst levels' shape: five topics, aggregates spread over them, each
/// aggregate's versions in order; the recorder checks order and duplicates the same way.
public enum PacedRunner {
    /// What one paced run asks for.
    public struct Plan: Sendable, Hashable {
        /// Offered messages per second, over all topics. Must be positive.
        public var rate: Int
        /// How long messages are offered. Must be positive.
        public var duration: Duration
        /// Topics the messages spread over. Default 5, as in the burst levels.
        public var topics: Int = 5
        /// Publishing tasks per topic, each owning a share of the topic's aggregates and awaiting
        /// its own publishes, so one aggregate's versions still go out in order. Default 1: one
        /// task a topic, each publish awaited before the next (the shape of the runs recorded
        /// before 2026-11-30). More tasks keep more publishes in flight, as a service's concurrent
        /// requests do and as the raw clients' pipelines do.
        public var publishersPerTopic: Int = 1
        /// Whether each publishing task pipelines (``EventBus/publishPipelined(_:to:)``: a call
        /// returns once the bus has queued its messages, and the task keeps up to
        /// ``pipelineLimit`` messages unacknowledged, as raw nats.c's publisher keeps 256) instead
        /// of awaiting each publish. Default false.
        public var pipelined = false
        /// Whether the publishing tasks run on the pacing thread (a task executor preference, see
        /// `PacingThread`), so a task woken at its due time publishes from the thread that woke it, as
        /// the raw clients' paced publishers publish from the thread that slept; handlers still run
        /// on the bus's pool. Default true (since 2026-11-30, Session 12). False: each woken task is
        /// resumed on Swift's global pool, one more thread wake-up before its publish, the shape of
        /// every paced run recorded before.
        public var publishOnPacingThread = true
        /// How long to wait for the last messages after offering ended. Default 60 s.
        public var drainTimeout: Duration = .seconds(60)

        /// Creates a plan of `rate` messages per second for `duration`.
        public init(rate: Int, duration: Duration) {
            self.rate = rate
            self.duration = duration
        }

        /// Messages offered in all: `rate × duration`, at least one.
        public var totalMessages: Int {
            max(1, Int((Double(rate) * duration.seconds).rounded()))
        }
    }

    /// Offers `plan`'s messages to `target`'s bus at the planned rate and reports latency from
    /// each message's due time to its handler. Throws `invalidArgument` for a non-positive rate,
    /// duration, topic count or publisher count, and what the bus throws from subscribe and publish.
    public static func run(_ plan: Plan, on target: PressureTarget) async throws -> PacedReport {
        guard plan.rate > 0, plan.duration > .zero, plan.topics > 0, plan.publishersPerTopic > 0 else {
            throw EventBusError(
                .invalidArgument, "a paced run needs a positive rate, duration, topic count and publisher count")
        }
        var workload = PressureWorkload(level: .custom(plan.totalMessages))
        workload.topics = plan.topics
        let runID = UUIDv7.generate().suffix(12).lowercased()
        let topics = (0..<plan.topics).map { target.topicName(String(runID), $0) }
        let recorder = PressureRecorder(workload: workload)
        let group = "paced-\(runID)"
        let bus = try await target.makeBus()
        let subscriptions: [any Subscription]
        do {
            subscriptions = try await PressureRunner.subscribeAll(
                bus, topics: topics, group: group, workload: workload, target: target, recorder: recorder)
        } catch {
            await bus.shutdown()
            throw error
        }

        let cpuAtStart = ProcessResources.cpuSeconds()
        let startWall = EventTimestamp.now().nanosecondsSinceEpoch
        let startClock = ContinuousClock.now
        let publishFailure: (any Error)?
        do {
            try await offer(
                workload, plan: plan, topics: topics, bus: bus, startWall: startWall, startClock: startClock)
            publishFailure = nil
        } catch {
            publishFailure = error
        }
        let offeredSeconds = (ContinuousClock.now - startClock).seconds
        let total = workload.totalMessages
        let deadline = ContinuousClock.now + plan.drainTimeout
        while recorder.uniqueHandled < total && ContinuousClock.now < deadline && publishFailure == nil {
            try? await Task.sleep(for: .milliseconds(1))
        }
        let cpuUsed = ProcessResources.cpuSeconds() - cpuAtStart
        let summary = recorder.summary()
        for subscription in subscriptions { await subscription.close() }
        await target.removeGroups(bus, topics, group)
        await bus.shutdown()
        if let publishFailure { throw publishFailure }

        let handled = recorder.uniqueHandled
        let span = Double(max(1, summary.lastHandledNanos - startWall)) / 1e9
        let latencies = summary.latencies
        return PacedReport(
            backend: target.backend,
            client: (plan.pipelined ? "eventbus-pipelined" : "eventbus")
                + (plan.publishersPerTopic == 1 ? "" : "-p\(plan.publishersPerTopic)"),
            offeredRate: plan.rate,
            durationSeconds: plan.duration.seconds,
            published: total,
            handled: handled,
            duplicates: summary.duplicates,
            orderViolations: summary.violations,
            offeredSeconds: offeredSeconds,
            achievedRate: Double(handled) / span,
            latencyP50Milliseconds: milliseconds(latencies.valueAtPercentile(50)),
            latencyP99Milliseconds: milliseconds(latencies.valueAtPercentile(99)),
            latencyP999Milliseconds: milliseconds(latencies.valueAtPercentile(99.9)),
            latencyMaxMilliseconds: milliseconds(latencies.max),
            cpuMicrosecondsPerMessage: cpuUsed * 1e6 / Double(max(1, total)),
            completed: handled >= total
        )
    }

    /// The bus's rows of a compare tool's paced run at `rate` for `seconds`: one with one
    /// publishing task a topic and, when `publishers` is above 1, one with that many; each printed
    /// as a ``PacedTable`` row as it finishes when `printing`. `publishOnPacingThread` sets
    /// ``Plan/publishOnPacingThread`` for every row.
    /// Then one with one pipelining task a topic (``Plan/pipelined``), the shape of the raw
    /// clients' pipelined publishers.
    public static func busRows(
        rate: Int, seconds: Int, publishers: Int, publishOnPacingThread: Bool = true, on target: PressureTarget,
        printing: Bool
    ) async throws -> [PacedReport] {
        var reports: [PacedReport] = []
        var plans: [Plan] = []
        for tasks in Set([1, publishers]).sorted() {
            var plan = Plan(rate: rate, duration: .seconds(seconds))
            plan.publishersPerTopic = tasks
            plans.append(plan)
        }
        var pipelined = Plan(rate: rate, duration: .seconds(seconds))
        pipelined.pipelined = true
        plans.append(pipelined)
        for index in plans.indices { plans[index].publishOnPacingThread = publishOnPacingThread }
        for plan in plans {
            let report = try await run(plan, on: target)
            reports.append(report)
            if printing { print(PacedTable.row(report)) }
        }
        return reports
    }

    /// The most messages one pipelining task keeps unacknowledged before it awaits its oldest
    /// receipt: raw nats.c's paced publisher keeps 256.
    public static let pipelineLimit = 256

    /// Message `k` of the whole run is version `k / aggregates + 1` of aggregate `k % aggregates`,
    /// due at `k / rate` seconds after the start, on topic `aggregate % topics`. Each topic's
    /// aggregates are dealt round-robin to its `publishersPerTopic` tasks; a task sends its
    /// messages when due: it sleeps until its next message is due and then sends everything due by
    /// then in one call, awaited before the next.
    private static func offer(
        _ workload: PressureWorkload, plan: Plan, topics: [String], bus: any EventBus, startWall: Int64,
        startClock: ContinuousClock.Instant
    ) async throws {
        let nanosPerMessage = 1e9 / Double(plan.rate)
        let shards = plan.publishersPerTopic
        let pacer = PacingThread()
        defer { pacer.stop() }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (topicIndex, topic) in topics.enumerated() {
                for shard in 0..<shards {
                    let share = Share(topic: topicIndex, topics: topics.count, shard: shard, shards: shards)
                    tasks.addTask(executorPreference: plan.publishOnPacingThread ? pacer : nil) {
                        try await publish(
                            share, topic: topic, workload: workload, bus: bus, pipelined: plan.pipelined,
                            pacer: pacer, nanosPerMessage: nanosPerMessage, startWall: startWall,
                            startClock: startClock)
                    }
                }
            }
            try await tasks.waitForAll()
        }
    }

    /// The aggregates one publishing task owns: those of its topic whose index within the topic,
    /// `aggregate / topics`, is `shard` modulo `shards`.
    private struct Share: Sendable {
        var topic: Int
        var topics: Int
        var shard: Int
        var shards: Int

        func owns(aggregate: Int) -> Bool {
            aggregate % topics == topic && (aggregate / topics) % shards == shard
        }
    }

    /// Sends `share`'s messages, each batch when its first message is due.
    private static func publish(
        _ share: Share, topic: String, workload: PressureWorkload, bus: any EventBus, pipelined: Bool,
        pacer: PacingThread, nanosPerMessage: Double, startWall: Int64, startClock: ContinuousClock.Instant
    ) async throws {
        let aggregates = workload.aggregates
        let total = workload.totalMessages
        // Pipelined: receipts not yet known settled, oldest first, with their message counts.
        var receipts: [(receipt: PublishReceipt, count: Int)] = []
        var receiptsStart = 0
        var unacknowledged = 0
        // This task's message indices, in due order.
        var k = (0..<min(aggregates, total)).first { share.owns(aggregate: $0) } ?? total
        var batch: [Envelope] = []
        while k < total {
            let dueOffset = Int64((Double(k) * nanosPerMessage).rounded())
            let due = startClock + .nanoseconds(dueOffset)
            if ContinuousClock.now < due {
                await pacer.sleep(until: due)
                try Task.checkCancellation()
            }
            let now = ContinuousClock.now
            batch.removeAll(keepingCapacity: true)
            // Everything of this share that is due by now.
            while k < total {
                let offset = Int64((Double(k) * nanosPerMessage).rounded())
                guard startClock + .nanoseconds(offset) <= now else { break }
                batch.append(
                    Envelope(
                        aggregateID: "agg-\(k % aggregates)",
                        eventType: "PacedTested",
                        eventVersion: Int64(k / aggregates + 1),
                        timestamp: EventTimestamp(nanosecondsSinceEpoch: startWall + offset),
                        payload: PressureRunner.payload))
                k = next(after: k, in: share, aggregates: aggregates)
            }
            guard !batch.isEmpty else { continue }
            guard pipelined else {
                try await bus.publish(batch, to: topic)
                continue
            }
            receipts.append((try await bus.publishPipelined(batch, to: topic), batch.count))
            unacknowledged += batch.count
            while receiptsStart < receipts.count
                && (receipts[receiptsStart].receipt.isSettled || unacknowledged > pipelineLimit)
            {
                try await receipts[receiptsStart].receipt.acknowledged()
                unacknowledged -= receipts[receiptsStart].count
                receiptsStart += 1
            }
            if receiptsStart > 1024 {
                receipts.removeFirst(receiptsStart)
                receiptsStart = 0
            }
        }
        for entry in receipts[receiptsStart...] { try await entry.receipt.acknowledged() }
    }

    /// The next message index after `k` whose aggregate `share` owns.
    private static func next(after k: Int, in share: Share, aggregates: Int) -> Int {
        var candidate = k + 1
        // Ends within `aggregates` steps: the share owns `k`'s aggregate, and the candidates go
        // through every aggregate before they come back to it.
        while !share.owns(aggregate: candidate % aggregates) { candidate += 1 }
        return candidate
    }

    private static func milliseconds(_ microseconds: UInt64) -> Double { Double(microseconds) / 1000 }
}

/// What one paced run measured, for the bus or for a raw client in the same shape.
public struct PacedReport: Sendable, Codable, Equatable {
    /// The backend: memory, kafka, nats.
    public var backend: String
    /// Who ran it: `eventbus` (one publishing task a topic), `eventbus-p<N>` (N publishing tasks a
    /// topic, ``PacedRunner/Plan/publishersPerTopic``), or the raw client (`librdkafka`, `nats.c`).
    public var client: String
    /// Offered messages per second.
    public var offeredRate: Int
    /// Planned seconds of offering.
    public var durationSeconds: Double
    /// Messages offered.
    public var published: Int
    /// Distinct messages handled.
    public var handled: Int
    /// Handler calls beyond the first for one message.
    public var duplicates: Int
    /// Messages handled before an earlier version of their aggregate.
    public var orderViolations: Int
    /// Seconds the offering actually took (above the plan when the publisher fell behind).
    public var offeredSeconds: Double
    /// Messages handled per second, from the start to the last handled message.
    public var achievedRate: Double
    /// Latency from each message's due time to its handler, percentiles and maximum, in milliseconds.
    public var latencyP50Milliseconds: Double
    public var latencyP99Milliseconds: Double
    public var latencyP999Milliseconds: Double
    public var latencyMaxMilliseconds: Double
    /// The process's CPU time (user + system) over the run, per offered message, in microseconds.
    public var cpuMicrosecondsPerMessage: Double
    /// Whether every message was handled before the drain timeout.
    public var completed: Bool

    /// Creates a report; the raw clients' tools fill one in the same shape.
    public init(
        backend: String, client: String, offeredRate: Int, durationSeconds: Double, published: Int, handled: Int,
        duplicates: Int, orderViolations: Int, offeredSeconds: Double, achievedRate: Double,
        latencyP50Milliseconds: Double, latencyP99Milliseconds: Double, latencyP999Milliseconds: Double,
        latencyMaxMilliseconds: Double, cpuMicrosecondsPerMessage: Double, completed: Bool
    ) {
        self.backend = backend
        self.client = client
        self.offeredRate = offeredRate
        self.durationSeconds = durationSeconds
        self.published = published
        self.handled = handled
        self.duplicates = duplicates
        self.orderViolations = orderViolations
        self.offeredSeconds = offeredSeconds
        self.achievedRate = achievedRate
        self.latencyP50Milliseconds = latencyP50Milliseconds
        self.latencyP99Milliseconds = latencyP99Milliseconds
        self.latencyP999Milliseconds = latencyP999Milliseconds
        self.latencyMaxMilliseconds = latencyMaxMilliseconds
        self.cpuMicrosecondsPerMessage = cpuMicrosecondsPerMessage
        self.completed = completed
    }
}

extension PacedReport {
    /// A raw client's run in the bus's shape: `latencies` from due time to read, in microseconds;
    /// `spanSeconds` from the first due time to the last read; `cpuSeconds` the process's CPU over
    /// the run. A raw client counts no duplicates and checks no order.
    public init(
        backend: String, client: String, offeredRate: Int, durationSeconds: Double, published: Int, handled: Int,
        offeredSeconds: Double, spanSeconds: Double, latencies: Histogram<UInt64>, cpuSeconds: Double
    ) {
        self.init(
            backend: backend, client: client, offeredRate: offeredRate, durationSeconds: durationSeconds,
            published: published, handled: handled, duplicates: 0, orderViolations: 0, offeredSeconds: offeredSeconds,
            achievedRate: Double(handled) / max(spanSeconds, 1e-9),
            latencyP50Milliseconds: Double(latencies.valueAtPercentile(50)) / 1000,
            latencyP99Milliseconds: Double(latencies.valueAtPercentile(99)) / 1000,
            latencyP999Milliseconds: Double(latencies.valueAtPercentile(99.9)) / 1000,
            latencyMaxMilliseconds: Double(latencies.max) / 1000,
            cpuMicrosecondsPerMessage: cpuSeconds * 1e6 / Double(max(1, published)), completed: handled >= published)
    }
}

/// Formats paced reports as a fixed-width table, or as one JSON document.
public enum PacedTable {
    /// `reports` as a pretty-printed JSON array with sorted keys (what `--json` prints).
    public static func json(_ reports: [PacedReport]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(reports), as: UTF8.self)
    }

    private static let columns: [(title: String, width: Int)] = [
        ("backend", 8), ("client", 11), ("rate/s", 8), ("secs", 5), ("handled", 8), ("achieved/s", 11),
        ("p50 ms", 8), ("p99 ms", 8), ("p99.9 ms", 9), ("max ms", 8), ("dups", 5), ("order", 6), ("cpu us", 7),
    ]

    /// The header line and a rule under it.
    public static var header: String {
        let titles = columns.map { PressureTable.pad($0.title, $0.width) }.joined(separator: " ")
        return titles + "\n" + String(repeating: "-", count: titles.count)
    }

    /// One report as one line.
    public static func row(_ report: PacedReport) -> String {
        let cells = [
            report.backend, report.client, "\(report.offeredRate)",
            PressureTable.format(report.durationSeconds, decimals: 0),
            "\(report.handled)", PressureTable.format(report.achievedRate, decimals: 0),
            PressureTable.format(report.latencyP50Milliseconds, decimals: 3),
            PressureTable.format(report.latencyP99Milliseconds, decimals: 3),
            PressureTable.format(report.latencyP999Milliseconds, decimals: 3),
            PressureTable.format(report.latencyMaxMilliseconds, decimals: 3), "\(report.duplicates)",
            "\(report.orderViolations)", PressureTable.format(report.cpuMicrosecondsPerMessage, decimals: 1),
        ]
        return zip(cells, columns).map { PressureTable.pad($0, $1.width) }.joined(separator: " ")
    }
}
