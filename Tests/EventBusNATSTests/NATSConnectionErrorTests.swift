import EventBus
import EventBusConformance
import EventBusNATS
import XCTest

/// `connect` names why it could not connect.
final class NATSConnectionErrorTests: XCTestCase {
    private func connectError(_ configuration: NATSConfiguration) async throws -> (EventBusError, Duration) {
        var configuration = configuration
        configuration.logger.logLevel = .critical
        let start = ContinuousClock.now
        do {
            let bus = try await NATSEventBus.connect(configuration)
            await bus.shutdown()
        } catch {
            return (error, ContinuousClock.now - start)
        }
        XCTFail("connect succeeded")
        throw XCTSkip("connect succeeded")
    }

    func testConnectNamesTheUnknownHostWhenTheServerNameDoesNotResolve() async throws {
        let (error, elapsed) = try await connectError(
            NATSTestEnvironment.configuration(url: "nats://no-such-host.invalid:4222"))
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertTrue(error.isRetriable)
        XCTAssertTrue(error.message.contains("unknown host"), error.message)
        XCTAssertTrue(error.message.contains("no-such-host.invalid"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))
    }

    func testConnectNamesTheRefusedConnectionWhenNothingListens() async throws {
        let (error, _) = try await connectError(NATSTestEnvironment.configuration(url: "nats://127.0.0.1:1"))
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertTrue(error.isRetriable)
        XCTAssertTrue(error.message.contains("127.0.0.1:1"), error.message)
        XCTAssertTrue(error.message.contains("refused"), error.message)
    }

    func testConnectThrowsAuthenticationFailedWhenThePasswordIsWrong() async throws {
        let server = try NATSTestServer(arguments: ["--user", "svc", "--pass", "right-password"])
        var configuration = NATSTestEnvironment.configuration(url: server.url)
        configuration.credentials = .userPassword(user: "svc", password: "wrong-password")
        let (error, elapsed) = try await connectError(configuration)
        XCTAssertEqual(error.code, .authenticationFailed, "\(error)")
        XCTAssertFalse(error.isRetriable)
        XCTAssertTrue(error.message.contains("Authorization Violation"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))

        configuration.credentials = .none
        let (anonymous, _) = try await connectError(configuration)
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
        let (error, elapsed) = try await connectError(NATSTestEnvironment.configuration(url: server.url))
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertFalse(error.isRetriable)
        XCTAssertTrue(error.message.contains("TLS"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))
    }
}
