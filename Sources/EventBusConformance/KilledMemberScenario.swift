import EventBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A member that dies without a word: it runs in a child process (``MemberProcess``), is killed with
/// `SIGKILL` mid-stream, and a successor subscribes in this process at once.
///
/// The dead member commits nothing more, closes nothing and leaves the group only when the broker
/// notices (Kafka: its session times out). The successor must then resume every key at its oldest
/// unacknowledged message (`Docs/Ordering.md`, point 3): the ledger must show nothing lost, no
/// first handling out of publish order and no two calls for one key at once; duplicates (what the
/// child handled after its last commit) are allowed and reported. Each backend's tests run it once
/// and check the ``KilledMemberOutcome``.
public struct KilledMemberScenario: Sendable {
    /// `--backend` for the child: `kafka` or `nats`.
    public var backend: String
    /// `--servers` for the child: the broker address the tests use.
    public var servers: String
    /// Keys published, each as versions `1...versions`, interleaved.
    public var keys = 10
    /// Versions per key.
    public var versions = 300
    /// How many different messages the child handles before it is killed.
    public var killAfter = 600
    /// How long every handler call takes, in the child and in the successor.
    public var work = Duration.milliseconds(5)
    /// How long the child may take to subscribe.
    public var readyTimeout = Duration.seconds(60)
    /// How long, after the kill, the successor may take to finish the backlog.
    public var timeout = Duration.seconds(90)
    /// Builds a bus configured like the child's (same broker, same stream or tuning).
    public var makeBus: @Sendable () async throws -> any EventBus

    /// A scenario with the default shape: 10 keys × 300 versions, 5 ms per call, kill after 600.
    public init(backend: String, servers: String, makeBus: @escaping @Sendable () async throws -> any EventBus) {
        self.backend = backend
        self.servers = servers
        self.makeBus = makeBus
    }

    /// Runs the scenario; throws a ``ConformanceFailure`` when a step times out. The child is
    /// killed and reaped and every bus shut down on every path, also after a failure.
    public func run() async throws -> KilledMemberOutcome {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let topic = "member-kill-\(suffix)"
        let group = "member-kill-group-\(suffix)"
        let keys = (0..<self.keys).map { "key-\($0)" }
        let versions = self.versions
        let total = keys.count * versions
        let work = self.work
        let ledger = HandlingLedger()
        var buses: [any EventBus] = []
        var child: MemberProcess?
        var successor: (any Subscription)?

        func cleanUp() async throws {
            var firstFailure: (any Error)?
            if let child {
                do { try await child.stop() } catch { firstFailure = firstFailure ?? error }
            }
            if let successor {
                do {
                    try await finishes(within: .seconds(20), "the successor's close()") { await successor.close() }
                } catch { firstFailure = firstFailure ?? error }
            }
            for bus in buses {
                do {
                    try await finishes(within: .seconds(20), "shutdown()") { await bus.shutdown() }
                } catch { firstFailure = firstFailure ?? error }
            }
            if let firstFailure { throw firstFailure }
        }

        do {
            let publisher = try await makeBus()
            buses.append(publisher)
            let member = try MemberProcess(
                executable: MemberProcess.executableURL(),
                arguments: [
                    "--backend", backend, "--servers", servers, "--topic", topic, "--group", group,
                    "--work-ms", "\(Int((work / .milliseconds(1)).rounded()))",
                    "--member", "0",
                ],
                member: 0, ledger: ledger)
            child = member
            try await member.waitUntilReady(timeout: readyTimeout)

            let messages = (1...versions).flatMap { version in
                keys.map {
                    OutgoingMessage(topic: topic, key: $0, payload: VersionedPayload.make(key: $0, version: version))
                }
            }
            let publishing = Task {
                for start in stride(from: 0, to: messages.count, by: 500) {
                    try await publisher.publish(Array(messages[start..<min(start + 500, messages.count)]))
                }
            }
            try await waitUntil(
                timeout: timeout, "the child to handle \(killAfter) of \(total) (has \(ledger.handledCount))"
            ) { ledger.handledCount >= killAfter }

            let killedAt = member.kill()
            let status = try await member.waitUntilExited(timeout: .seconds(10))
            try expect(status == SIGKILL, "the child ended with status \(status), not by SIGKILL")
            // Everything the child wrote before it died is in the ledger now.
            let handledAtKill = ledger.handledCount

            let successorBus = try await makeBus()
            buses.append(successorBus)
            successor = try await successorBus.subscribe(topic: topic, group: group) { message in
                let (key, version) = VersionedPayload.parse(message)
                let call = ledger.begin(member: 1, key: key, version: version)
                do {
                    try await Task.sleep(for: work)
                } catch {
                    ledger.end(call, succeeded: false)
                    throw error
                }
                ledger.end(call, succeeded: true)
            }
            try await publishing.value
            try await waitUntil(
                timeout: timeout,
                "all \(total) handled after the kill (have \(ledger.handledCount); "
                    + "\(ledger.report(keys: keys, versions: versions)))"
            ) { ledger.handledCount >= total }

            let outcome = KilledMemberOutcome(
                report: ledger.report(keys: keys, versions: versions),
                handledPerMember: ledger.handledPerMember,
                handledAtKill: handledAtKill,
                total: total,
                childRan: Self.elapsed(from: ledger.firstStart(of: 0), to: killedAt),
                takeover: Self.elapsed(from: killedAt, to: ledger.firstStart(of: 1)))
            try await cleanUp()
            return outcome
        } catch {
            try? await cleanUp()
            throw error
        }
    }

    /// From `start` to `end` in ``HandlingLedger/now()`` nanoseconds; zero when either is missing or
    /// `end` came first.
    private static func elapsed(from start: UInt64?, to end: UInt64?) -> Duration {
        guard let start, let end, end > start else { return .zero }
        return .nanoseconds(Int64(end - start))
    }
}
