import EventBus
import EventBusConformance

/// A subscription whose `close()` waits until none of its handlers runs, as a naive backend would:
/// called from inside a handler it waits for itself (given up after five seconds, so the self-test
/// leaves nothing spinning).
final class HandlerWaitingSubscription: Subscription {
    private let inner: any Subscription
    private let running: Counter

    init(_ inner: any Subscription, running: Counter) {
        self.inner = inner
        self.running = running
    }

    var topic: String { inner.topic }
    var group: String { inner.group }

    func close() async {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while running.value > 0 && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
        await inner.close()
    }
}
