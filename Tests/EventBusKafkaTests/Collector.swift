import EventBus
import Synchronization

/// Collects what handlers received, and lets a test wait for a condition with a deadline.
final class Collector: Sendable {
    private let received = Mutex<[ReceivedMessage]>([])

    func add(_ message: ReceivedMessage) {
        received.withLock { $0.append(message) }
    }

    var messages: [ReceivedMessage] { received.withLock { $0 } }
    var count: Int { received.withLock { $0.count } }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
    static func waitUntil(
        timeout: Duration, _ condition: @Sendable () -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
