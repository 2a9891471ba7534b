import EventBusConformance
import Foundation
import XCTest

/// A real nats-server process with JetStream and its own store, for tests that stop, restart or
/// pause the broker (``BrokerProcess``); never the shared broker.
final class NATSTestServer: Sendable {
    let port: Int
    let storeDirectory: URL
    private let broker: BrokerProcess

    var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts nats-server on a free port with `arguments` added to its command line (for example
    /// `--user u --pass p`); skips the test when the binary is missing (fails it instead with
    /// `EVENTBUS_REQUIRE_BROKERS=1`).
    init(arguments: [String] = []) throws {
        let binary = Self.binaryPath()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            let message = "no nats-server at \(binary) (run scripts/setup.sh or set EVENTBUS_NATS_SERVER)"
            if ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" {
                XCTFail(message)
            }
            throw XCTSkip(message)
        }
        let port = BrokerProcess.freePort()
        self.port = Int(port)
        storeDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("eventbus-nats-test-\(port)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        broker = BrokerProcess(
            executable: binary,
            arguments: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDirectory.path] + arguments,
            port: port)
        try start()
    }

    /// `EVENTBUS_NATS_SERVER` (scripts/env.sh sets it), else the `.runtime/bin/nats-server` (2.15.1) that
    /// scripts/setup.sh installs and scripts/brokers.sh runs; never Debian's 2.9.10 from `PATH`.
    private static func binaryPath() -> String {
        if let path = ProcessInfo.processInfo.environment["EVENTBUS_NATS_SERVER"], !path.isEmpty {
            return path
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".runtime/bin/nats-server").path
    }

    /// Starts the process and waits (at most 10 s) until it accepts connections.
    func start() throws { try broker.start() }

    /// Stops the process (SIGTERM) and waits for it to exit.
    func stop() { broker.stop() }

    /// Stops and starts again on the same port with the same store.
    func restart() throws {
        stop()
        try start()
    }

    /// Pauses the process (SIGSTOP): the TCP connections stay open, nothing is answered.
    func pause() { broker.pause() }

    /// Resumes the paused process (SIGCONT).
    func resume() { broker.resume() }

    deinit {
        broker.stop()
        try? FileManager.default.removeItem(at: storeDirectory)
    }

    static func accepts(port: Int) -> Bool {
        BrokerProbe.accepts(host: "127.0.0.1", port: UInt16(port))
    }
}
