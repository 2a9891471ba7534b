import EventBus

/// The health scenarios of issue 13 that every backend runs the same way (`Docs/Observability.md`,
/// "Health"): a broker outage and a stalled subscription. Each throws a ``ConformanceFailure``
/// naming what it saw; each waits by polling `health()` against a deadline, never by sleeping for a
/// fixed time.
public enum HealthScenarios {
    /// What ``followsOutage(of:probeTimeout:unhealthyAfter:slack:recoveryTimeout:outage:recovery:file:line:)`` saw.
    public struct OutageTimeline: Sendable {
        /// The first verdict that was not `healthy`, and when, counted from the outage.
        public var firstDegraded: (health: BusHealth, after: Duration)
        /// The first `unhealthy` verdict, and when, counted from the outage.
        public var unhealthy: (health: BusHealth, after: Duration)
        /// How long after the recovery step health was `healthy` again.
        public var recoveredAfter: Duration
    }

    /// Calls `bus.health()` until `condition` holds or `timeout` passed (each call may itself take
    /// up to the backend's probe timeout); returns the last verdict and the time spent.
    public static func poll(
        _ bus: some EventBus, timeout: Duration, until condition: (BusHealth) -> Bool
    ) async -> (health: BusHealth, elapsed: Duration) {
        let start = ContinuousClock.now
        var health = await bus.health()
        while !condition(health), ContinuousClock.now - start < timeout {
            try? await Task.sleep(for: .milliseconds(20))
            health = await bus.health()
        }
        return (health, ContinuousClock.now - start)
    }

    /// Health follows a broker outage: `healthy` before it; after `outage()` `degraded` within
    /// one `probeTimeout` (plus `slack` for a loaded machine), then `unhealthy` no earlier than
    /// `unhealthyAfter` and within `unhealthyAfter` + `probeTimeout` + `slack`; after `recovery()`
    /// `healthy` again within `recoveryTimeout`. Every non-healthy verdict must name a cause.
    public static func followsOutage(
        of bus: some EventBus, probeTimeout: Duration, unhealthyAfter: Duration, slack: Duration = .seconds(3),
        recoveryTimeout: Duration = .seconds(20), outage: () throws -> Void, recovery: () throws -> Void,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> OutageTimeline {
        func fail(_ message: String) -> ConformanceFailure {
            ConformanceFailure(scenario: "health follows an outage", message: message, file: file, line: line)
        }
        let before = await poll(bus, timeout: .seconds(10)) { $0.status == .healthy }
        guard before.health.status == .healthy else {
            throw fail("not healthy before the outage: \(before.health.details)")
        }
        // Counted from before the outage step: a broker that is stopping closes its connections
        // before the step returns, and the bus may see that first.
        let start = ContinuousClock.now
        try outage()
        let degraded = await poll(bus, timeout: probeTimeout + slack) { $0.status != .healthy }
        guard degraded.health.status == .degraded else {
            throw fail(
                "expected degraded within \(probeTimeout + slack) of the outage, saw \(degraded.health.status) "
                    + "after \(degraded.elapsed): \(degraded.health.details)")
        }
        guard degraded.health.details["eventbus.cause"] != nil else {
            throw fail("degraded without eventbus.cause: \(degraded.health.details)")
        }
        let firstDegraded = (degraded.health, ContinuousClock.now - start)
        let unhealthy = await poll(bus, timeout: unhealthyAfter + probeTimeout + slack) { $0.status == .unhealthy }
        let unhealthyAt = ContinuousClock.now - start
        guard unhealthy.health.status == .unhealthy else {
            throw fail(
                "expected unhealthy within \(unhealthyAfter + probeTimeout + slack) of the outage, saw "
                    + "\(unhealthy.health.status) after \(unhealthyAt): \(unhealthy.health.details)")
        }
        guard unhealthyAt >= unhealthyAfter else {
            throw fail(
                "unhealthy after \(unhealthyAt), before the bound \(unhealthyAfter): \(unhealthy.health.details)")
        }
        guard unhealthy.health.details["eventbus.cause"] != nil else {
            throw fail("unhealthy without eventbus.cause: \(unhealthy.health.details)")
        }
        try recovery()
        let recovered = await poll(bus, timeout: recoveryTimeout) { $0.status == .healthy }
        guard recovered.health.status == .healthy else {
            throw fail(
                "expected healthy within \(recoveryTimeout) of the recovery, saw \(recovered.health.status): "
                    + "\(recovered.health.details)")
        }
        return OutageTimeline(
            firstDegraded: firstDegraded, unhealthy: (unhealthy.health, unhealthyAt), recoveredAfter: recovered.elapsed)
    }

    /// A handler that hangs turns health `degraded`, naming the subscription: subscribes `group`
    /// to `topic` with a handler that hangs on key `stuck` until released, publishes three `stuck`
    /// messages and one `other`, waits until `other` was handled, then expects `degraded` with
    /// `eventbus.consume.stalled_subscriptions` = 1 and `<topic>/<group>` in `eventbus.cause`, no
    /// earlier than `stallTimeout` after the first `health()` call (stalls are measured between
    /// calls) and within `stallTimeout` + `slack`. After the release every message is handled and
    /// health is `healthy` again. The bus's pool must have `stallTimeout` configured.
    public static func reportsStall(
        of bus: some EventBus, topic: String, group: String, stallTimeout: Duration,
        slack: Duration = .seconds(5), file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        func fail(_ message: String) -> ConformanceFailure {
            ConformanceFailure(scenario: "health reports a stall", message: message, file: file, line: line)
        }
        let release = Flag()
        let handled = Counter()
        let subscription = try await bus.subscribe(topic: topic, group: group) { message in
            if message.key == "stuck" {
                while !release.isSet { try? await Task.sleep(for: .milliseconds(1)) }
            }
            handled.add()
        }
        defer { release.set() }
        try await bus.publish(
            (0..<3).map { OutgoingMessage(topic: topic, key: "stuck", payload: [UInt8($0)]) }
                + [OutgoingMessage(topic: topic, key: "other", payload: [9])])
        try await waitUntil(timeout: .seconds(30), "the key 'other' handled while 'stuck' hangs") {
            handled.value >= 1
        }
        let stalled = await poll(bus, timeout: stallTimeout + slack) { $0.status != .healthy }
        guard stalled.health.status == .degraded else {
            throw fail(
                "expected degraded, saw \(stalled.health.status) after \(stalled.elapsed): \(stalled.health.details)")
        }
        guard stalled.elapsed >= stallTimeout else {
            throw fail(
                "degraded after \(stalled.elapsed), before stallTimeout \(stallTimeout): \(stalled.health.details)")
        }
        guard stalled.health.details["eventbus.consume.stalled_subscriptions"] == "1",
            stalled.health.details["eventbus.cause"]?.contains("\(topic)/\(group)") == true
        else {
            throw fail("the stall is not named: \(stalled.health.details)")
        }
        release.set()
        try await waitUntil(timeout: .seconds(30), "every message handled after the release") { handled.value >= 4 }
        let recovered = await poll(bus, timeout: .seconds(10)) { $0.status == .healthy }
        guard recovered.health.status == .healthy else {
            throw fail("not healthy again after the stall ended: \(recovered.health.details)")
        }
        await subscription.close()
    }
}
