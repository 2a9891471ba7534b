import EventBus
import EventBusConformance
import EventBusNATS
import XCTest

/// `connect` names why it could not connect.
final class NATSConnectionErrorTests: XCTestCase {
    /// Connects with `configuration` and returns the error (nil if it connected) and how long it took.
    private func connectError(_ configuration: NATSConfiguration) async -> (EventBusError?, Duration) {
        var configuration = configuration
        configuration.logger.logLevel = .critical
        let start = ContinuousClock.now
        do {
            let bus = try await NATSEventBus.connect(configuration)
            await bus.shutdown()
            return (nil, ContinuousClock.now - start)
        } catch {
            return (error, ContinuousClock.now - start)
        }
    }

    func testConnectNamesTheUnknownHostWhenTheServerNameDoesNotResolve() async throws {
        let (errorResult, elapsed) = await connectError(
            NATSTestEnvironment.configuration(url: "nats://no-such-host.invalid:4222"))
        let error = try XCTUnwrap(errorResult, "connect succeeded")
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertTrue(error.isRetriable)
        XCTAssertTrue(error.message.contains("unknown host"), error.message)
        XCTAssertTrue(error.message.contains("no-such-host.invalid"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))
    }

    func testConnectNamesTheRefusedConnectionWhenNothingListens() async throws {
        let (errorResult, _) = await connectError(NATSTestEnvironment.configuration(url: "nats://127.0.0.1:1"))
        let error = try XCTUnwrap(errorResult, "connect succeeded")
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertTrue(error.isRetriable)
        XCTAssertTrue(error.message.contains("127.0.0.1:1"), error.message)
        XCTAssertTrue(error.message.contains("refused"), error.message)
    }

    func testConnectThrowsAuthenticationFailedWhenThePasswordIsWrong() async throws {
        let server = try NATSTestServer(arguments: ["--user", "svc", "--pass", "right-password"])
        var configuration = NATSTestEnvironment.configuration(url: server.url)
        configuration.credentials = .userPassword(user: "svc", password: "wrong-password")
        let (errorResult, elapsed) = await connectError(configuration)
        let error = try XCTUnwrap(errorResult, "connect succeeded")
        XCTAssertEqual(error.code, .authenticationFailed, "\(error)")
        XCTAssertFalse(error.isRetriable)
        XCTAssertTrue(error.message.contains("Authorization Violation"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))

        configuration.credentials = .none
        let (anonymousResult, _) = await connectError(configuration)
        let anonymous = try XCTUnwrap(anonymousResult, "connect succeeded")
        XCTAssertEqual(anonymous.code, .authenticationFailed, "\(anonymous)")

        configuration.credentials = .userPassword(user: "svc", password: "right-password")
        let bus = try await NATSEventBus.connect(configuration)
        await bus.shutdown()
    }

    func testConnectNamesTLSWhenTheServerRequiresIt() async throws {
        let certificate = try SelfSignedCertificate()
        let server = try NATSTestServer(arguments: [
            "--tls", "--tlscert", certificate.certificate.path, "--tlskey", certificate.key.path,
        ])
        let (errorResult, elapsed) = await connectError(NATSTestEnvironment.configuration(url: server.url))
        let error = try XCTUnwrap(errorResult, "connect succeeded")
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertFalse(error.isRetriable)
        XCTAssertTrue(error.message.contains("TLS"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))
    }
}
