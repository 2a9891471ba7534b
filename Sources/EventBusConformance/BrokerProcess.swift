import EventBus
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A broker process of a test's own (nats-server, Tansu) on a port of its own, which the test may
/// stop, start again, pause with `SIGSTOP` and resume with `SIGCONT` without touching any broker
/// other tests share. Signals go only to the process this object started, by its PID.
///
/// The process never outlives this object: `deinit` resumes a paused process and kills it.
public final class BrokerProcess: Sendable {
    /// The TCP port the broker listens on (127.0.0.1).
    public let port: UInt16
    private let executable: String
    private let arguments: [String]
    private let process = Mutex<Process?>(nil)

    /// Describes the broker; nothing runs until ``start(timeout:)``. `arguments` must make it
    /// listen on 127.0.0.1:`port`.
    public init(executable: String, arguments: [String], port: UInt16) {
        self.executable = executable
        self.arguments = arguments
        self.port = port
    }

    /// Starts the process and waits (polling every 10 ms, at most `timeout`) until its port
    /// accepts connections. Throws `connectionFailed` if it does not, `invalidArgument` if the
    /// binary cannot be run; a process already running is left alone.
    public func start(timeout: Duration = .seconds(10)) throws(EventBusError) {
        guard process.withLock({ $0 == nil }) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw EventBusError(.invalidArgument, "cannot run \(executable): \(error)")
        }
        self.process.withLock { $0 = process }
        let deadline = ContinuousClock.now + timeout
        while !BrokerProbe.accepts(host: "127.0.0.1", port: port) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw EventBusError(
                    .connectionFailed, "\(executable) did not open port \(port) within \(timeout)")
            }
            usleep(10_000)
        }
    }

    /// Stops the process with `SIGTERM` (resuming it first if paused) and waits until it exited.
    public func stop() { end(with: SIGTERM) }

    /// Stops the process at once with `SIGKILL`, as a crash would, and waits until it exited.
    public func kill() { end(with: SIGKILL) }

    /// Pauses the process with `SIGSTOP`: its sockets stay open, it answers nothing.
    public func pause() { signal(SIGSTOP) }

    /// Resumes a paused process with `SIGCONT`.
    public func resume() { signal(SIGCONT) }

    /// Whether the process runs (paused counts as running).
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    private func signal(_ signal: Int32) {
        process.withLock { process in
            guard let process, process.isRunning else { return }
            sendSignal(signal, to: process.processIdentifier)
        }
    }

    private func end(with signal: Int32) {
        guard let process = process.withLock({ $0.take() }) else { return }
        if process.isRunning {
            // A stopped process would not act on SIGTERM until continued.
            sendSignal(SIGCONT, to: process.processIdentifier)
            sendSignal(signal, to: process.processIdentifier)
        }
        process.waitUntilExit()
    }

    deinit { kill() }

    /// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0).
    public static func freePort() -> UInt16 {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}
