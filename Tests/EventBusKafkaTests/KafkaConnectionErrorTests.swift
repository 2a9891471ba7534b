import EventBus
import EventBusConformance
import EventBusKafka
import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed connection names its cause in the thrown error, well before the operation timeout.
final class KafkaConnectionErrorTests: XCTestCase {
    /// Publishes one message with `configuration` and returns the error (nil if it succeeded) and how
    /// long it took.
    private func publishError(_ configuration: KafkaConfiguration) async throws -> (EventBusError?, Duration) {
        let bus = try KafkaEventBus(configuration: configuration)
        let start = ContinuousClock.now
        var failure: EventBusError?
        do {
            try await bus.publish(OutgoingMessage(topic: KafkaTestBroker.uniqueTopic("cause"), key: "k", payload: [1]))
        } catch {
            failure = error
        }
        let elapsed = ContinuousClock.now - start
        await bus.shutdown()
        return (failure, elapsed)
    }

    func testPublishNamesTheUnknownHostWhenTheBootstrapServerDoesNotResolve() async throws {
        let configuration = try KafkaTestBroker.configuration(brokers: "no-such-host.invalid:9092", quiet: true)
        let (failure, elapsed) = try await publishError(configuration)
        let error = try XCTUnwrap(failure, "publish succeeded")
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertTrue(error.isRetriable)
        XCTAssertTrue(error.message.contains("unknown host"), error.message)
        XCTAssertTrue(error.message.contains("no-such-host.invalid"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5), "waited for the whole operation timeout (10 s)")
    }

    func testPublishThrowsAuthenticationFailedWhenTheSASLHandshakeFails() async throws {
        // Tansu 0.6 answers every SASL handshake with "unsupported mechanism".
        let broker = try PrivateTansu()
        let configuration = try KafkaTestBroker.configuration(brokers: broker.address, quiet: true) {
            $0.librdkafkaOptions = [
                "security.protocol": "sasl_plaintext", "sasl.mechanism": "PLAIN", "sasl.username": "user",
                "sasl.password": "wrong",
            ]
        }
        let (failure, elapsed) = try await publishError(configuration)
        let error = try XCTUnwrap(failure, "publish succeeded")
        XCTAssertEqual(error.code, .authenticationFailed, "\(error)")
        XCTAssertFalse(error.isRetriable)
        XCTAssertTrue(error.message.contains("SASL"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))
    }

    func testPublishNamesTheTLSHandshakeWhenTheBrokerCertificateIsNotTrusted() async throws {
        let certificate = try SelfSignedCertificate()
        let server = try OpenSSLServer(certificate: certificate)
        let configuration = try KafkaTestBroker.configuration(brokers: server.address, quiet: true) {
            $0.librdkafkaOptions = ["security.protocol": "ssl"]
        }
        let (failure, elapsed) = try await publishError(configuration)
        let error = try XCTUnwrap(failure, "publish succeeded")
        XCTAssertEqual(error.code, .connectionFailed, "\(error)")
        XCTAssertFalse(error.isRetriable)
        XCTAssertTrue(error.message.contains("TLS handshake failed"), error.message)
        XCTAssertTrue(error.message.contains("certificate verify failed"), error.message)
        XCTAssertLessThan(elapsed, .seconds(5))
    }

    /// Debian bookworm's librdkafka 2.0.2 cannot parse Tansu's ApiVersions answer. The test process
    /// has librdkafka 2.16 loaded, so a child process (`EventBusMemberProcess`) runs with the loader
    /// path stripped of `.runtime/lib` and takes the system's `librdkafka.so.1`.
    func testSubscribeThrowsUnsupportedNamingBothLibrdkafkaVersionsWhenDebians202MeetsTansu() async throws {
        let system = "/usr/lib/x86_64-linux-gnu/librdkafka.so.1"
        guard FileManager.default.fileExists(atPath: system) else {
            throw XCTSkip("no system librdkafka at \(system) (apt-get install librdkafka1)")
        }
        let broker = try PrivateTansu()
        let process = Process()
        process.executableURL = try MemberProcess.executableURL()
        process.arguments = [
            "--backend", "kafka", "--servers", broker.address, "--topic", KafkaTestBroker.uniqueTopic("old"),
            "--group", "g", "--work-ms", "0",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["LD_LIBRARY_PATH"] = (environment["LD_LIBRARY_PATH"] ?? "").split(separator: ":")
            .filter { !$0.hasSuffix(".runtime/lib") }.joined(separator: ":")
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let start = ContinuousClock.now
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        XCTAssertEqual(process.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("EventBusError.unsupported"), text)
        XCTAssertTrue(text.contains("ApiVersion handshake"), text)
        XCTAssertTrue(text.contains("librdkafka 2.0.2 is loaded"), text)
        XCTAssertTrue(text.contains("need librdkafka 2.1 or newer"), text)
        XCTAssertLessThan(elapsed, .seconds(8), "waited for the whole operation timeout (10 s)")
    }
}

/// `openssl s_server` with a certificate no client trusts, on a free port, killed when the object goes.
private final class OpenSSLServer {
    let address: String
    private let process = Process()

    init(certificate: SelfSignedCertificate) throws {
        guard let openssl = SelfSignedCertificate.openssl else { throw XCTSkip("no openssl") }
        let port = Int.random(in: 30_000...39_999)
        address = "127.0.0.1:\(port)"
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = [
            "s_server", "-accept", String(port), "-cert", certificate.certificate.path, "-key", certificate.key.path,
            "-quiet",
        ]
        process.standardInput = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(10)
        while !BrokerProbe.accepts(host: "127.0.0.1", port: UInt16(port)) {
            guard ContinuousClock.now < deadline else { throw XCTSkip("openssl s_server did not open \(address)") }
            usleep(10_000)
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
