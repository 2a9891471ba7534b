import EventBus

extension ConformanceSuite {
    /// A bus that subscribed, handled messages, closed a subscription and shut down gives back every
    /// thread and descriptor it took (within the features' slack, after a settling deadline), reports
    /// itself unhealthy and refuses publishes. Swift tasks cannot be counted from outside; threads
    /// and the handler staying silent after shutdown stand in for them.
    static func releasesResources(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        // Let the cooperative pool reach its full width first, so its threads are in the baseline.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { try? await Task.sleep(for: .milliseconds(2)) } }
        }
        let before = ProcessResources.current()
        let bus = try await context.bus()
        let handled = Counter()
        let subscription = try await bus.subscribe(topic: context.topic("a"), group: context.group()) { _ in
            handled.add()
        }
        _ = try await bus.subscribe(topic: context.topic("b"), group: context.group()) { _ in handled.add() }
        try await bus.publish((0..<500).map { numbered($0, topic: context.topic("a"), key: "leak-\($0 % 13)") })
        try await bus.publish((0..<500).map { numbered($0, topic: context.topic("b"), key: "leak-\($0 % 13)") })
        try await waitUntil(timeout: context.timeout(10), "1000 messages handled (have \(handled.value))") {
            handled.value >= 1000
        }
        let during = ProcessResources.current()
        let running = await bus.health().status
        try expect(running == .healthy, "health while serving is \(running), expected healthy")
        await subscription.close()
        try await finishes(within: context.timeout(10), "shutdown()") { await bus.shutdown() }
        let slack = context.features.resourceSlack
        var after = ProcessResources.current()
        do {
            try await waitUntil(
                timeout: context.timeout(5), interval: .milliseconds(20), "threads and descriptors back to baseline"
            ) {
                after = ProcessResources.current()
                return within(after.threads, before.threads, slack.threads)
                    && within(after.fileDescriptors, before.fileDescriptors, slack.fileDescriptors)
            }
        } catch let failure as ConformanceFailure {
            throw fail(
                "\(failure.message): before \(before); while running \(during); after shutdown \(after); "
                    + "threads now: \(ProcessResources.threadNames() ?? "?")")
        }
        let health = await bus.health()
        try expect(health.status == .unhealthy, "health after shutdown is \(health.status), expected unhealthy")
        try expect(
            health.details["eventbus.shutdown"] == "true" && health.details["eventbus.cause"] != nil,
            "health after shutdown does not say so: \(health.details)")
        // One name per backend across health, metrics and tracing (`messaging.system`).
        let backend = health.details["eventbus.backend"] ?? ""
        try expect(
            ["kafka", "nats", "in_memory"].contains(backend),
            "eventbus.backend is \"\(backend)\", not a messaging.system value (kafka, nats, in_memory)")
        try await expectShutDown("publish after shutdown") {
            try await bus.publish(numbered(0, topic: context.topic("a")))
        }
        let handledAtShutdown = handled.value
        try expect(handledAtShutdown == 1000, "\(handledAtShutdown) handler calls for 1000 messages")
        return .passed(notes: [
            "before \(before); while running \(during); after \(after)",
            "threads now: \(ProcessResources.threadNames() ?? "?")",
        ])
    }

    /// Shutdown twice at once and once more afterwards, close twice: every call returns promptly.
    static func shutdownIsIdempotent(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let handled = Counter()
        let subscription = try await bus.subscribe(topic: topic, group: context.group()) { _ in handled.add() }
        try await bus.publish((0..<50).map { numbered($0, topic: topic, key: "idem-\($0 % 5)") })
        try await waitUntil(timeout: context.timeout(10), "50 messages handled") { handled.value >= 50 }
        try await finishes(within: context.timeout(10), "two concurrent shutdown() calls") {
            async let first: Void = bus.shutdown()
            async let second: Void = bus.shutdown()
            _ = await (first, second)
        }
        try await finishes(within: context.timeout(5), "a third shutdown()") { await bus.shutdown() }
        try await finishes(within: context.timeout(5), "close() twice after shutdown") {
            await subscription.close()
            await subscription.close()
        }
        try await expectShutDown("publish after repeated shutdown") {
            try await bus.publish(numbered(1, topic: topic))
        }
        return .passed(notes: ["3 shutdowns and 2 closes returned"])
    }

    /// A handler closes its own subscription: that `close()` returns while the handler still runs,
    /// the subscription then finishes closing, and a later `close()` from outside returns too.
    static func closesFromInsideHandler(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let own = Recorder<any Subscription>()
        let handled = Counter()
        let closedInside = Flag()
        let subscription = try await bus.subscribe(topic: topic, group: context.group()) { _ in
            // The first handler call closes; the others only count.
            guard handled.add() == 1, let subscription = own.snapshot.first else { return }
            await subscription.close()
            closedInside.set()
        }
        own.record(subscription)
        try await bus.publish((0..<20).map { numbered($0, topic: topic, key: "close-\($0 % 4)") })
        try await waitUntil(timeout: context.timeout(10), "close() called inside a handler returned") {
            closedInside.isSet
        }
        try await finishes(within: context.timeout(10), "close() from outside afterwards") {
            await subscription.close()
        }
        try await finishes(within: context.timeout(10), "shutdown()") { await bus.shutdown() }
        return .passed(notes: ["\(handled.value) handler calls before the subscription closed"])
    }

    /// Every way of publishing or subscribing on a shut-down bus throws `EventBusError.shutDown`.
    static func rejectsPublishAfterShutdown(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        _ = try await bus.subscribe(topic: topic, group: context.group()) { _ in }
        try await context.shutDown(bus)
        try await expectShutDown("publish(_:) of one message") {
            try await bus.publish(numbered(0, topic: topic, key: "k"))
        }
        try await expectShutDown("publish(_:) of a batch") {
            try await bus.publish([numbered(1, topic: topic), numbered(2, topic: topic)])
        }
        try await expectShutDown("publish(_:to:) of an envelope") {
            try await bus.publish(event("shut-down", version: 1), to: topic)
        }
        try await expectShutDown("publishPipelined(_:) of a batch") {
            _ = try await bus.publishPipelined([numbered(3, topic: topic), numbered(4, topic: topic)])
        }
        try await expectShutDown("publishPipelined(_:to:) of an envelope") {
            _ = try await bus.publishPipelined([event("shut-down", version: 2)], to: topic)
        }
        try await expectShutDown("subscribe after shutdown") {
            _ = try await bus.subscribe(topic: topic, group: context.group("late")) { _ in }
        }
        return .passed(notes: ["6 operations threw shutDown"])
    }

    /// Empty topic and group names are refused with `EventBusError.invalidArgument`, and the bus keeps
    /// working afterwards.
    static func rejectsInvalidArguments(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        try await expectCode(.invalidArgument, "publish to an empty topic") {
            try await bus.publish(numbered(0, topic: ""))
        }
        try await expectCode(.invalidArgument, "subscribe to an empty topic") {
            _ = try await bus.subscribe(topic: "", group: context.group()) { _ in }
        }
        try await expectCode(.invalidArgument, "subscribe with an empty group") {
            _ = try await bus.subscribe(topic: context.topic(), group: "") { _ in }
        }
        let seen = Counter()
        _ = try await bus.subscribe(topic: context.topic(), group: context.group()) { _ in seen.add() }
        try await bus.publish(numbered(1, topic: context.topic()))
        try await waitUntil(timeout: context.timeout(10), "a message after the refused calls") { seen.value >= 1 }
        return .passed(notes: ["3 invalid calls refused, bus still serving"])
    }

    /// With a persistent broker: messages published before and after a broker restart are all
    /// handled. Publishes that fail with a retriable error while the broker comes back are retried.
    static func survivesBrokerRestart(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        guard let restart = context.features.restartBroker else {
            return .skipped(reason: "no broker restart command")
        }
        let bus = try await context.bus()
        let topic = context.topic()
        let seen = Recorder<Int>()
        _ = try await bus.subscribe(topic: topic, group: context.group()) { seen.record(number(in: $0)) }
        let half = 50
        try await bus.publish((0..<half).map { numbered($0, topic: topic, key: "restart-\($0 % 5)") })
        try await waitUntil(timeout: context.timeout(15), "\(half) messages before the restart") { seen.count >= half }
        try await restart()
        var retries = 0
        let deadline = ContinuousClock.now + context.timeout(30)
        for number in half..<(2 * half) {
            while true {
                do {
                    try await bus.publish(numbered(number, topic: topic, key: "restart-\(number % 5)"))
                    break
                } catch {
                    guard error.isRetriable, ContinuousClock.now < deadline else { throw error }
                    retries += 1
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        try await waitUntil(timeout: context.timeout(30), "\(2 * half) distinct messages after the restart") {
            Set(seen.snapshot).count >= 2 * half
        }
        let report = deliveryReport(expected: 0..<(2 * half), seen: seen.snapshot)
        try expect(report.missing.isEmpty, "missing after restart: \(sample(report.missing))")
        return .passed(notes: ["\(retries) publish retries, \(report.duplicates) duplicates"])
    }

    static func within(_ value: Int?, _ baseline: Int?, _ slack: Int) -> Bool {
        guard let value, let baseline else { return true }
        return value <= baseline + slack
    }

    /// Runs `operation` and expects it to throw `EventBusError` with code `shutDown`.
    static func expectShutDown(
        _ what: String, file: StaticString = #filePath, line: UInt = #line,
        _ operation: () async throws -> Void
    ) async throws {
        try await expectCode(.shutDown, what, file: file, line: line, operation)
    }

    /// Runs `operation` and expects it to throw `EventBusError` with `code`.
    static func expectCode(
        _ code: EventBusError.Code, _ what: String, file: StaticString = #filePath, line: UInt = #line,
        _ operation: () async throws -> Void
    ) async throws {
        do {
            try await operation()
        } catch let error as EventBusError {
            try expect(error.code == code, "\(what) threw \(error), expected code \(code)", file: file, line: line)
            return
        }
        throw fail("\(what) did not throw; expected EventBusError.\(code)", file: file, line: line)
    }
}
