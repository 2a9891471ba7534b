import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
    private let sendSignal = Glibc.kill
#elseif canImport(Darwin)
    import Darwin
    private let sendSignal = Darwin.kill
#endif

/// A Tansu broker of the test's own, so a test can take it away mid-run without disturbing the
/// shared broker. Uses `EVENTBUS_TANSU` or the `.runtime/bin/tansu` that scripts/setup.sh installs.
final class PrivateTansu {
    let address: String
    private let process: Process

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let binary =
            ProcessInfo.processInfo.environment["EVENTBUS_TANSU"]
            ?? root.appendingPathComponent(".runtime/bin/tansu").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("no Tansu binary at \(binary) (run scripts/setup.sh or set EVENTBUS_TANSU)")
        }
        let port = Int.random(in: 20_000...29_999)
        address = "127.0.0.1:\(port)"
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "broker", "--listener-url", "tcp://\(address)", "--advertised-listener-url",
            "tcp://\(address)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Takes the broker away at once, as a crash would (SIGKILL to the process this object started).
    func kill() {
        guard process.isRunning else { return }
        _ = sendSignal(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { kill() }
}
