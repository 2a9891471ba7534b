import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A consumer-group member running in a child process: the package's `EventBusMemberProcess`
/// executable, so a test can kill it with `SIGKILL` the way a crash or the OOM killer would.
///
/// The child prints `READY` once it subscribed and `H <member> <key> <version> <startNs> <endNs>`
/// after each handler call (times from ``HandlingLedger/now()``); a dedicated thread reads those
/// lines into a ``HandlingLedger`` as they arrive. The child's standard error is the caller's.
///
/// The child never outlives its runner: ``kill()`` and ``stop(timeout:)`` end it, `deinit` sends
/// `SIGKILL` to a child still running, and the child is started with `--exit-on-stdin-eof` while
/// this object holds the write end of its standard input, so it exits when the test process dies
/// (the kernel closes that pipe). Foundation's `Process` reaps it (`waitpid` on its own pid).
public final class MemberProcess: Sendable {
    private struct State {
        var ready = false
        var outputEnded = false
        var terminationStatus: Int32?
        /// Lines that are neither `READY` nor a handling record, kept for failure messages.
        var otherLines: [String] = []
    }

    /// What the reader thread and Foundation's termination handler share with the test.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    /// The member number the child reports in its records.
    public let member: Int
    private let process: Process
    private let input: Pipe
    private let shared = Shared()

    /// Starts `executable` with `arguments` (which must include `--member` `member` if the records
    /// should carry it) and begins reading its records into `ledger`.
    public init(executable: URL, arguments: [String], member: Int, ledger: HandlingLedger) throws {
        self.member = member
        let shared = self.shared
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        process.executableURL = executable
        process.arguments = arguments + ["--exit-on-stdin-eof"]
        process.standardInput = input
        process.standardOutput = output
        process.terminationHandler = { process in
            shared.state.withLock { $0.terminationStatus = process.terminationStatus }
        }
        try process.run()
        self.process = process
        self.input = input
        // Foundation closes its copy of the output pipe's write end once the child runs, so the
        // read below sees end-of-file when the child dies.
        let reading = output.fileHandleForReading
        let reader = Thread {
            Self.readRecords(from: reading, into: ledger, shared: shared)
        }
        reader.name = "eventbus.member-process.\(member)"
        reader.start()
    }

    deinit {
        if process.isRunning { sendSignal(SIGKILL, to: process.processIdentifier) }
        try? input.fileHandleForWriting.close()
    }

    /// The `EventBusMemberProcess` executable that `swift test` built beside the running tests.
    ///
    /// SwiftPM puts every executable of the package in the same products folder as the test bundle
    /// (`<scratch-path>/<triple>/<configuration>/`, whatever `--scratch-path` and `-c` say; the test
    /// targets depend on the executable target so it is always built). On Linux the bundle
    /// `EventBusPackageTests.xctest` is itself the running executable, so the folder is that of
    /// `Bundle.main.executableURL` (`/proc/self/exe`); on macOS `xctest` loads the bundle, so it is
    /// the folder holding the loaded `.xctest` bundle. `EVENTBUS_MEMBER_PROCESS` overrides the path.
    public static func executableURL(named name: String = "EventBusMemberProcess") throws -> URL {
        if let path = ProcessInfo.processInfo.environment["EVENTBUS_MEMBER_PROCESS"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var folders: [URL] = Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map {
            $0.bundleURL.deletingLastPathComponent()
        }
        if let executable = Bundle.main.executableURL {
            folders.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            folders.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for folder in folders {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw ConformanceFailure(
            message:
                "no \(name) executable in \(folders.map(\.path)); build it (swift build) or set EVENTBUS_MEMBER_PROCESS"
        )
    }

    /// The child's process ID.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Whether the child printed `READY`.
    public var isReady: Bool { shared.state.withLock { $0.ready } }

    /// Whether the child was reaped and every line it wrote was read into the ledger.
    public var hasExited: Bool { shared.state.withLock { $0.outputEnded && $0.terminationStatus != nil } }

    /// Waits until the child printed `READY`; fails at the deadline or when the child exits first.
    public func waitUntilReady(timeout: Duration) async throws {
        try await waitUntil(timeout: timeout, "member \(member) (pid \(processIdentifier)) to print READY") {
            let (ready, ended, lines) = shared.state.withLock { ($0.ready, $0.outputEnded, $0.otherLines) }
            if ready { return true }
            if ended {
                throw ConformanceFailure(message: "member \(member) ended before READY; it printed \(lines)")
            }
            return false
        }
    }

    /// Sends `SIGKILL` (unless the child already exited) and returns the ``HandlingLedger/now()``
    /// taken just before; ``waitUntilExited(timeout:)`` then waits until it is reaped and read.
    @discardableResult
    public func kill() -> UInt64 {
        let now = HandlingLedger.now()
        if process.isRunning { sendSignal(SIGKILL, to: process.processIdentifier) }
        return now
    }

    /// Sends `SIGTERM`: the child shuts its bus down (committing what was handled) and exits 0.
    public func terminate() {
        if process.isRunning { sendSignal(SIGTERM, to: process.processIdentifier) }
    }

    /// Waits until the child was reaped and its output read to the end; returns its termination
    /// status (the signal number when a signal ended it).
    @discardableResult
    public func waitUntilExited(timeout: Duration) async throws -> Int32 {
        try await waitUntil(timeout: timeout, "member \(member) (pid \(processIdentifier)) to exit") { hasExited }
        return shared.state.withLock { $0.terminationStatus ?? -1 }
    }

    /// Kills the child if it still runs and waits until it is reaped: the clean-up every test runs,
    /// also after a failure.
    public func stop(timeout: Duration = .seconds(10)) async throws {
        kill()
        try? input.fileHandleForWriting.close()
        try await waitUntilExited(timeout: timeout)
    }

    /// Runs on the reader thread until the child's standard output ends: a blocking read, kept off
    /// Swift's cooperative pool.
    private static func readRecords(from handle: FileHandle, into ledger: HandlingLedger, shared: Shared) {
        let descriptor = handle.fileDescriptor
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            pending.append(contentsOf: chunk[0..<count])
            var lineStart = 0
            while let newline = pending[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                record(String(decoding: pending[lineStart..<newline], as: UTF8.self), ledger: ledger, shared: shared)
                lineStart = newline + 1
            }
            pending.removeFirst(lineStart)
        }
        try? handle.close()
        shared.state.withLock { $0.outputEnded = true }
    }

    private static func record(_ line: String, ledger: HandlingLedger, shared: Shared) {
        let fields = line.split(separator: " ")
        if fields.count == 6, fields[0] == "H", let member = Int(fields[1]), let version = Int(fields[3]),
            let start = UInt64(fields[4]), let end = UInt64(fields[5])
        {
            ledger.record(
                member: member, key: String(fields[2]), version: version, start: start, end: end, succeeded: true)
        } else if line == "READY" {
            shared.state.withLock { $0.ready = true }
        } else {
            shared.state.withLock { if $0.otherLines.count < 20 { $0.otherLines.append(line) } }
        }
    }
}

/// The C `kill`, which the methods of the same name hide inside ``MemberProcess`` and ``BrokerProcess``.
func sendSignal(_ signal: Int32, to pid: Int32) {
    _ = kill(pid, signal)
}
