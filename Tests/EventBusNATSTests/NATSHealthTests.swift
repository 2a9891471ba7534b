import EventBus
import EventBusConformance
import EventBusNATS
import XCTest

/// Issue 13's health tests on NATS: a nats-server of the test's own (``NATSTestServer``) stopped
/// or paused, and a stalled subscription on the shared broker.
final class NATSHealthTests: XCTestCase {
    private static let probeTimeout = Duration.milliseconds(300)
    private static let unhealthyAfter = Duration.seconds(1)

    private func busOnPrivateServer() async throws -> (NATSTestServer, NATSEventBus) {
        let server = try NATSTestServer()
        var configuration = NATSTestEnvironment.configuration(url: server.url)
        configuration.reconnect.wait = .milliseconds(100)
        configuration.health = NATSConfiguration.HealthSettings(
            probeTimeout: Self.probeTimeout, unhealthyAfter: Self.unhealthyAfter)
        return (server, try await NATSEventBus.connect(configuration))
    }

    func testHealthTurnsDegradedThenUnhealthyWhenTheServerStopsAndHealthyWhenItStartsAgain() async throws {
        let (server, bus) = try await busOnPrivateServer()
        let healthy = await bus.health()
        XCTAssertNotNil(healthy.details["eventbus.nats.rtt_us"], "\(healthy.details)")
        let timeline = try await HealthScenarios.followsOutage(
            of: bus, probeTimeout: Self.probeTimeout, unhealthyAfter: Self.unhealthyAfter,
            outage: { server.stop() }, recovery: { try server.start() })
        XCTAssertNotEqual(timeline.firstDegraded.health.details["eventbus.nats.connection"], "connected")
        XCTAssertNotNil(timeline.unhealthy.health.details["eventbus.nats.unreachable_ms"])
        print(
            "nats-server stopped: degraded after \(timeline.firstDegraded.after), unhealthy after "
                + "\(timeline.unhealthy.after), healthy \(timeline.recoveredAfter) after the restart")
        await bus.shutdown()
    }

    func testHealthTurnsDegradedThenUnhealthyWhenTheServerIsPausedAndHealthyWhenItResumes() async throws {
        let (server, bus) = try await busOnPrivateServer()
        let timeline = try await HealthScenarios.followsOutage(
            of: bus, probeTimeout: Self.probeTimeout, unhealthyAfter: Self.unhealthyAfter,
            outage: { server.pause() }, recovery: { server.resume() })
        // nats.c still calls the connection connected: only the PING probe sees the pause.
        let degraded = timeline.firstDegraded.health.details
        XCTAssertEqual(degraded["eventbus.nats.connection"], "connected", "\(degraded)")
        XCTAssertTrue(degraded["eventbus.cause"]?.contains("PING") == true, "\(degraded)")
        print(
            "nats-server paused (SIGSTOP): degraded after \(timeline.firstDegraded.after), unhealthy after "
                + "\(timeline.unhealthy.after), healthy \(timeline.recoveredAfter) after SIGCONT")
        await bus.shutdown()
    }

    func testHealthIsDegradedNamingTheSubscriptionWhileAHandlerStalls() async throws {
        var configuration = NATSTestEnvironment.configuration(url: try NATSTestEnvironment.requireBroker())
        configuration.pool.stallTimeout = .milliseconds(300)
        let bus = try await NATSEventBus.connect(configuration)
        let topic = NATSTestEnvironment.uniqueTopic()
        try await HealthScenarios.reportsStall(
            of: bus, topic: topic, group: "stall", stallTimeout: configuration.pool.stallTimeout)
        await bus.shutdown()
    }
}
