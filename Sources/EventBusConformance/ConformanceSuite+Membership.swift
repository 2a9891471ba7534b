import EventBus

/// Scenarios in which a consumer group changes while it works: members join, close, shut down and
/// leave during a failing message's retries. Each checks the ordering contract across members
/// (see `Docs/Ordering.md`): nothing lost, first handlings of a key in publish order, and never two
/// calls for one key at the same time; duplicates are allowed and reported.
extension ConformanceSuite {
    /// A member works through a backlog; a second member joins halfway.
    static func keepsOrderWhenMemberJoins(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let run = try await MembershipRun(context, keys: 10, versions: 400, work: .milliseconds(5))
        try await run.join()
        try await run.publishAll()
        try await run.waitForHandled(run.total / 8)
        try await run.join()
        return try await run.finish(expectingWorkFrom: [0, 1])
    }

    /// Two members share the work; one of them closes mid-stream.
    static func keepsOrderWhenMemberCloses(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let run = try await MembershipRun(context, keys: 10, versions: 300, work: .milliseconds(5))
        try await run.join()
        try await run.join()
        try await run.publishAll()
        try await run.waitForHandled(run.total / 5)
        try await run.leave(0)
        return try await run.finish(expectingWorkFrom: [0, 1])
    }

    /// A member shuts its bus down with thousands of messages received and not yet handled; a
    /// successor starts afterwards. (Where every member shares one bus, the member closes instead.)
    static func keepsOrderWhenMemberShutsDown(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let run = try await MembershipRun(context, keys: 100, versions: 80, work: .milliseconds(2))
        try await run.join()
        try await run.publishAll()
        try await run.waitForHandled(run.total / 8)
        try await run.shutDownMember(0)
        try await run.join()
        return try await run.finish(expectingWorkFrom: [0, 1])
    }

    /// A member's handler fails on one message and the member closes during its retries; the next
    /// member must handle that message before the key's later ones.
    static func keepsOrderWhenFailingMemberLeaves(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let failing = Flag()
        let run = try await MembershipRun(
            context, keys: 5, versions: 20, work: .milliseconds(2),
            fails: { member, key, version in
                // Member 0 cannot handle version 3 of the first key; each attempt takes a while.
                guard member == 0, key == "key-0", version == 3 else { return false }
                failing.set()
                return true
            })
        try await run.join()
        try await run.publishAll()
        try await waitUntil(timeout: context.timeout(20), "member 0 to reach the failing message") {
            failing.isSet
        }
        try await run.leave(0)
        try await run.join()
        return try await run.finish(expectingWorkFrom: [1])
    }

    /// Three members churn: one joins or leaves every second until the backlog is handled.
    static func keepsOrderWhileMembersChurn(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let run = try await MembershipRun(context, keys: 20, versions: 200, work: .milliseconds(25))
        try await run.join()
        try await run.publishAll()
        let deadline = ContinuousClock.now + context.timeout(120)
        var changes = 0
        while run.ledger.handledCount < run.total && ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            if run.activeMembers.count < 3 {
                try await run.join()
            } else {
                try await run.leave(run.activeMembers[0])
            }
            changes += 1
        }
        try expect(changes >= 3, "only \(changes) membership changes before the backlog was handled")
        return try await run.finish(expectingWorkFrom: [0, 1, 2], notes: ["\(changes) membership changes"])
    }
}

/// One scenario's consumer group: its members, their buses, the messages and the ledger.
private final class MembershipRun {
    let context: ScenarioContext
    let topic: String
    let group: String
    let keys: [String]
    let versions: Int
    let work: Duration
    let fails: @Sendable (Int, String, Int) -> Bool
    let ledger = HandlingLedger()
    /// Publishes; where buses share a broker, no member uses it, so a member's shutdown leaves
    /// publishing alone.
    private let publishingBus: any EventBus
    private var members: [(id: Int, bus: any EventBus, subscription: (any Subscription)?)] = []
    private var publishing: Task<Void, any Error>?
    /// The first member that left and when it began to, for the takeover time.
    private var firstDeparture: (member: Int, time: UInt64)?
    /// The first member that joined a working group and when, for the time until it got work.
    private var firstJoin: (member: Int, time: UInt64)?

    var total: Int { keys.count * versions }
    var activeMembers: [Int] { members.filter { $0.subscription != nil }.map(\.id) }

    init(
        _ context: ScenarioContext, keys: Int, versions: Int, work: Duration,
        fails: @escaping @Sendable (Int, String, Int) -> Bool = { _, _, _ in false }
    ) async throws {
        self.context = context
        self.topic = context.topic()
        self.group = context.group()
        self.keys = (0..<keys).map { "key-\($0)" }
        self.versions = versions
        self.work = work
        self.fails = fails
        self.publishingBus = try await context.bus()
    }

    /// Adds a member, on a bus of its own where buses share a broker.
    func join() async throws {
        let id = members.count
        if id > 0 && firstJoin == nil { firstJoin = (id, HandlingLedger.now()) }
        let bus = context.features.busesShareBroker ? try await context.bus() : publishingBus
        let ledger = self.ledger
        let work = self.work
        let fails = self.fails
        let subscription = try await bus.subscribe(topic: topic, group: group) { message in
            let (key, version) = VersionedPayload.parse(message)
            let call = ledger.begin(member: id, key: key, version: version)
            try await Task.sleep(for: work)
            if fails(id, key, version) {
                try await Task.sleep(for: .milliseconds(200))
                ledger.end(call, succeeded: false)
                throw InjectedFailure("member \(id) cannot handle \(key) v\(version)")
            }
            ledger.end(call, succeeded: true)
        }
        members.append((id, bus, subscription))
    }

    /// Closes member `id`'s subscription.
    func leave(_ id: Int) async throws {
        guard let subscription = members[id].subscription else { return }
        members[id].subscription = nil
        if firstDeparture == nil { firstDeparture = (id, HandlingLedger.now()) }
        try await finishes(within: context.timeout(20), "member \(id)'s close()") { await subscription.close() }
    }

    /// Shuts member `id`'s bus down, or closes its subscription where members share one bus.
    func shutDownMember(_ id: Int) async throws {
        guard context.features.busesShareBroker else { return try await leave(id) }
        members[id].subscription = nil
        if firstDeparture == nil { firstDeparture = (id, HandlingLedger.now()) }
        try await context.shutDown(members[id].bus)
    }

    /// Publishes every key's versions in order, from a task of its own.
    func publishAll() async throws {
        let bus = publishingBus
        let topic = self.topic
        var messages: [OutgoingMessage] = []
        for version in 1...versions {
            for key in keys {
                messages.append(
                    OutgoingMessage(topic: topic, key: key, payload: VersionedPayload.make(key: key, version: version)))
            }
        }
        let batches = stride(from: 0, to: messages.count, by: 500).map {
            Array(messages[$0..<min($0 + 500, messages.count)])
        }
        publishing = Task {
            for batch in batches { try await bus.publish(batch) }
        }
    }

    func waitForHandled(_ count: Int) async throws {
        try await waitUntil(
            timeout: context.timeout(60), "\(count) of \(total) handled (have \(ledger.handledCount))"
        ) {
            ledger.handledCount >= count
        }
    }

    /// Waits for the whole backlog, closes every member and checks the contract.
    func finish(expectingWorkFrom workers: [Int], notes: [String] = []) async throws -> ConformanceOutcome {
        try await publishing?.value
        try await waitForHandled(total)
        var timings: [String] = []
        if let (member, time) = firstDeparture, let takeover = ledger.takeover(from: member, leftAt: time) {
            timings.append("takeover after member \(member) left: \(takeover)")
        }
        if let (member, time) = firstJoin, let start = ledger.firstStart(of: member) {
            timings.append("member \(member) handled its first message \((start - time) / 1_000_000) ms after joining")
        }
        for member in activeMembers { try await leave(member) }
        let report = ledger.report(keys: keys, versions: versions)
        let perMember = ledger.handledPerMember
        try expect(report.keptContract, "the ordering contract broke: \(report); handled per member \(perMember)")
        for worker in workers {
            try expect(
                perMember[worker, default: 0] > 0,
                "member \(worker) handled nothing (per member \(perMember)): the membership change did not take effect")
        }
        return .passed(
            notes: notes + timings + [
                "\(total) messages: \(report); handled per member \(perMember.sorted { $0.key < $1.key })"
            ])
    }
}
