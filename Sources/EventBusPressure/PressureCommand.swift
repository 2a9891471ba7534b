import ArgumentParser
import EventBus
import EventBusPressureKit
import Foundation
import InMemoryTracing
import Instrumentation

/// `eventbus-pressure`: the reference report's four pressure levels, per backend, as a table.
@main
struct PressureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eventbus-pressure",
        abstract: "Runs the reference pressure levels against EventBus backends and prints what they measured."
    )

    @Option(help: "memory, kafka, nats or all.")
    var backend: String = "memory"

    @Option(help: "low, medium, high, extreme or all.")
    var level: String = "all"

    @Option(help: "Run one custom level of this many messages instead of the named levels.")
    var messages: Int?

    @Flag(help: "Run each backend at growing sizes (memory: 10k, 100k, 1M; brokers: 10k, 100k, 500k).")
    var scale = false

    @Option(help: "Share of messages whose handler fails once (0.01 = 1%).")
    var failOnceRate: Double = 0

    @Option(help: "Share of messages whose handler always fails and is dead-lettered.")
    var alwaysFailRate: Double = 0

    @Option(help: "Envelopes per publish call.")
    var publishBatch: Int = 256

    @Option(
        help: ArgumentHelp(
            "Subscriptions (group members) per topic's consumer group, 1...16.",
            discussion: """
                Each is a separate group member on Kafka and NATS; on the in-memory bus the members \
                share the topic's partitions. Uniqueness, duplicates and order are counted per group.
                """))
    var members: Int = 1

    @Option(
        help: ArgumentHelp(
            "Offered messages per second for a paced (open-loop) run; repeat for several rates.",
            discussion: """
                Instead of the burst levels: messages are offered at this rate over five topics for \
                --duration seconds, each stamped with the time it was due, and the report gives \
                latency from due time to handler (p50, p99, p99.9, max), the achieved rate and CPU \
                per message.
                """))
    var rate: [Int] = []

    @Option(help: "Seconds a paced run offers messages (with --rate).")
    var duration: Int = 10

    @Option(
        help: ArgumentHelp(
            "Publishing tasks per topic in a paced run (with --rate).",
            discussion: """
                Each owns a share of the topic's aggregates and awaits its own publishes, so an \
                aggregate's versions stay in order; more tasks keep more publishes in flight.
                """))
    var publishers: Int = 1

    @Flag(
        help: ArgumentHelp(
            "Pipeline the paced publishes (with --rate): publishPipelined instead of awaited publishes.",
            discussion: """
                Each publishing task keeps up to 256 messages unacknowledged, as raw nats.c's paced \
                publisher does; the rows are labelled eventbus-pipelined.
                """))
    var pipelined = false

    @Flag(
        help: ArgumentHelp(
            "Resume the paced publishing tasks on Swift's pool (with --rate), as before 2026-11-30.",
            discussion: """
                By default they run on the pacing thread that wakes them, as the raw clients' paced \
                publishers publish from the thread that slept (PacedRunner.Plan.publishOnPacingThread).
                """))
    var poolPaced = false

    @Option(
        help: ArgumentHelp(
            "Tracer to bootstrap before the buses are built: none or in-memory.",
            discussion: """
                in-memory bootstraps swift-distributed-tracing's InMemoryTracer process-wide, so every \
                message gets a producer and a consumer span with its context in the headers; the \
                spans are kept in memory. Compare the cpu us column with and without it for the \
                cost of tracing per message.
                """))
    var tracer: String = "none"

    @Flag(help: "Print the reports as JSON instead of a table.")
    var json = false

    func validate() throws {
        guard ["none", "in-memory"].contains(tracer) else {
            throw ValidationError("--tracer must be none or in-memory, got \(tracer)")
        }
        guard rate.allSatisfy({ $0 > 0 }), duration > 0, publishers > 0 else {
            throw ValidationError("--rate, --duration and --publishers must be positive")
        }
        guard PressureWorkload.memberRange.contains(members) else {
            let range = PressureWorkload.memberRange
            throw ValidationError(
                "--members must be between \(range.lowerBound) and \(range.upperBound), got \(members)")
        }
    }

    func run() async throws {
        if tracer == "in-memory" {
            // Read by every bus when it is built (its configuration's tracer is nil).
            InstrumentationSystem.bootstrap(InMemoryTracer(recordInjections: false, recordExtractions: false))
        }
        let backends = backend == "all" ? BackendRegistry.names : [backend]
        // Every backend is checked before the first runs, so `--backend all` fails at once rather
        // than after the in-memory levels.
        let targets = try backends.map { try BackendRegistry.target(named: $0) }
        for target in targets where members > target.maxMembers {
            throw ValidationError(
                "--members \(members) is above what \(target.backend) runs: at most \(target.maxMembers) "
                    + "(one member per partition)")
        }
        if !rate.isEmpty {
            try await runPaced(backends: backends, targets: targets)
            return
        }
        var reports: [PressureReport] = []
        if !json { print(PressureTable.header) }
        for (name, target) in zip(backends, targets) {
            try await warmUp(target)
            for level in try levels(for: name) {
                var workload = PressureWorkload(
                    level: level, members: members, failOnceRate: failOnceRate, alwaysFailRate: alwaysFailRate)
                if level.messages >= 100_000 { workload.completionTimeout = .seconds(600) }
                let report = try await PressureRunner.run(workload, on: target) { line in
                    FileHandle.standardError.write(Data("[\(name) \(level.name) members=\(members)] \(line)\n".utf8))
                }
                reports.append(report)
                if !json { print(PressureTable.row(report)) }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
        }
        let failed = reports.filter { !$0.completed || $0.successRate < 100 || $0.orderViolations > 0 }
        if !failed.isEmpty {
            throw ValidationError("\(failed.count) run(s) did not deliver every message in order")
        }
    }

    /// Paced runs: every rate on every backend, after the same warm-up as the burst levels.
    private func runPaced(backends: [String], targets: [PressureTarget]) async throws {
        var reports: [PacedReport] = []
        if !json { print(PacedTable.header) }
        for (name, target) in zip(backends, targets) {
            try await warmUp(target)
            for offered in rate {
                FileHandle.standardError.write(Data("[\(name) paced \(offered)/s for \(duration) s]\n".utf8))
                var plan = PacedRunner.Plan(rate: offered, duration: .seconds(duration))
                plan.publishersPerTopic = publishers
                plan.pipelined = pipelined
                plan.publishOnPacingThread = !poolPaced
                let report = try await PacedRunner.run(plan, on: target)
                reports.append(report)
                if !json { print(PacedTable.row(report)) }
            }
        }
        if json { print(try PacedTable.json(reports)) }
        let failed = reports.filter { !$0.completed || $0.orderViolations > 0 }
        if !failed.isEmpty {
            throw ValidationError("\(failed.count) paced run(s) did not deliver every message in order")
        }
    }

    private func levels(for backend: String) throws -> [PressureLevel] {
        if let messages {
            guard messages > 0 else { throw ValidationError("--messages must be positive") }
            return [.custom(messages)]
        }
        if scale {
            let sizes = backend == "memory" ? [10_000, 100_000, 1_000_000] : [10_000, 100_000, 500_000]
            return sizes.map(PressureLevel.custom)
        }
        if level == "all" { return PressureLevel.reference }
        guard let match = PressureLevel.reference.first(where: { $0.name == level }) else {
            throw ValidationError("unknown level \(level); use low, medium, high, extreme or all")
        }
        return [match]
    }

    /// One small run first, so thread pools and connections exist before the baseline is taken.
    private func warmUp(_ target: PressureTarget) async throws {
        _ = try await PressureRunner.run(
            PressureWorkload(level: .custom(1000), failOnceRate: 0.01, alwaysFailRate: 0.002),
            on: target, settle: false
        )
    }
}
