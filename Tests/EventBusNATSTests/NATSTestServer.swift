import EventBusConformance
import Foundation
import Synchronization
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real nats-server process with JetStream and its own store, for tests that restart the broker.
final class NATSTestServer: Sendable {
    let port: Int
    let storeDirectory: URL
    private let process = Mutex<Process?>(nil)

    var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts nats-server on a free port with `arguments` added to its command line (for example
    /// `--user u --pass p`); skips the test when the binary is missing.
    init(arguments: [String] = []) throws {
        self.arguments = arguments
        let binary = Self.binaryPath()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            let message = "no nats-server at \(binary) (run scripts/setup.sh or set EVENTBUS_NATS_SERVER)"
            if ProcessInfo.processInfo.environment["EVENTBUS_REQUIRE_BROKERS"] == "1" {
                XCTFail(message)
            }
            throw XCTSkip(message)
        }
        port = Self.freePort()
        storeDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("eventbus-nats-test-\(port)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: storeDirectory, withIntermediateDirectories: true)
        self.binary = binary
        try start()
    }

    private let binary: String
    private let arguments: [String]

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

    /// Starts the process and waits until it accepts connections.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDirectory.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port: port) {
            guard Date() < deadline else {
                throw CocoaError(
                    .fileReadUnknown,
                    userInfo: [NSLocalizedDescriptionKey: "nats-server did not open port \(port) within 10 s"])
            }
            usleep(10_000)
        }
    }

    /// Stops the process (SIGTERM) and waits for it to exit.
    func stop() {
        guard let process = process.withLock({ $0.take() }) else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Stops and starts again on the same port with the same store.
    func restart() throws {
        stop()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: storeDirectory)
    }

    static func accepts(port: Int) -> Bool {
        BrokerProbe.accepts(host: "127.0.0.1", port: UInt16(port))
    }

    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
