import Synchronization

/// Checks that each key's versions arrive as 1, 2, 3, … with no gap, repeat or reversal.
public final class OrderTracker: Sendable {
    private struct State {
        var lastVersion: [String: Int64] = [:]
        var received = 0
        var violations = 0
        var samples: [String] = []
    }

    private let state = Mutex(State())

    /// Creates an empty tracker.
    public init() {}

    /// Records that `version` of `key` was handled now.
    public func record(key: String, version: Int64) {
        state.withLock { state in
            state.received += 1
            let last = state.lastVersion[key] ?? 0
            if version != last + 1 {
                state.violations += 1
                if state.samples.count < 10 {
                    state.samples.append("\(key): v\(version) after v\(last)")
                }
            }
            state.lastVersion[key] = max(last, version)
        }
    }

    /// How many versions were handled.
    public var received: Int { state.withLock { $0.received } }

    /// How many arrived other than right after their predecessor.
    public var violations: Int { state.withLock { $0.violations } }

    /// Up to ten violations, as text.
    public var violationSamples: [String] { state.withLock { $0.samples } }

    /// The highest version handled per key.
    public var lastVersions: [String: Int64] { state.withLock { $0.lastVersion } }
}
