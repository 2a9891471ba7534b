import Synchronization

/// Observes how many different keys are inside handlers at the same moment.
///
/// A handler calls ``hold(_:until:timeout:)``, which keeps it inside until enough other keys have
/// joined (or the deadline passes, after which nobody waits), so overlap is seen even on a machine with few cores.
public final class ConcurrencyProbe: Sendable {
    private struct State {
        var inside: [String: Int] = [:]
        var peak = 0
        var expired = false
    }

    private let state = Mutex(State())

    /// Creates a probe.
    public init() {}

    /// The most different keys seen inside at once.
    public var peak: Int { state.withLock { $0.peak } }

    /// Enters with `key`, waits until `target` keys are inside at once or `timeout` passes, leaves.
    public func hold(_ key: String, until target: Int, timeout: Duration) async {
        state.withLock { state in
            state.inside[key, default: 0] += 1
            state.peak = max(state.peak, state.inside.count)
        }
        let deadline = ContinuousClock.now + timeout
        while !state.withLock({ $0.peak >= target || $0.expired }) {
            if ContinuousClock.now >= deadline {
                // Later handlers stop waiting too, so a serial bus fails once, not once per message.
                state.withLock { $0.expired = true }
                break
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        state.withLock { state in
            let remaining = (state.inside[key] ?? 1) - 1
            state.inside[key] = remaining > 0 ? remaining : nil
        }
    }
}
