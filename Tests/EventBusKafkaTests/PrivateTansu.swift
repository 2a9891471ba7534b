import EventBusConformance
import Foundation
import XCTest

/// A Tansu broker of the test's own on a free port (``BrokerProcess``), so a test can stop, restart
/// or pause it mid-run without disturbing the shared broker. Started as scripts/brokers.sh starts
/// the shared one (memory storage: topics and offsets are gone after a restart). Uses
/// `EVENTBUS_TANSU` or the `.runtime/bin/tansu` that scripts/setup.sh installs; skips the test when
/// it is missing, fails it instead with `EVENTBUS_REQUIRE_BROKERS=1`.
final class PrivateTansu {
    /// `127.0.0.1:<port>`, for `bootstrapServers`.
    let address: String
    private let broker: BrokerProcess

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let binary =
            ProcessInfo.processInfo.environment["EVENTBUS_TANSU"]
            ?? root.appendingPathComponent(".runtime/bin/tansu").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            let message = "no Tansu binary at \(binary) (run scripts/setup.sh or set EVENTBUS_TANSU)"
            if ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" {
                XCTFail(message)
            }
            throw XCTSkip(message)
        }
        let port = BrokerProcess.freePort()
        address = "127.0.0.1:\(port)"
        broker = BrokerProcess(
            executable: binary,
            arguments: [
                "broker", "--listener-url", "tcp://\(address)", "--advertised-listener-url", "tcp://\(address)",
            ],
            port: port)
        try start()
    }

    /// Starts the broker (again, on the same port) and waits until its port accepts connections.
    func start() throws { try broker.start() }

    /// Takes the broker away at once, as a crash would (SIGKILL to the process this object started).
    /// Tansu needs 3–4 s to exit on SIGTERM; a test has no use for that wait.
    func kill() { broker.kill() }

    /// Pauses the broker (SIGSTOP): its connections stay open, nothing is answered.
    func pause() { broker.pause() }

    /// Resumes the paused broker (SIGCONT).
    func resume() { broker.resume() }
}
