import Synchronization

/// Keeps the highest value it was shown, for peaks of in-flight messages and memory.
public final class PeakGauge: Sendable {
    private let peak = Atomic<Int>(Int.min)

    /// Creates a gauge that has seen nothing.
    public init() {}

    /// Shows the gauge `value`.
    public func record(_ value: Int) {
        var current = peak.load(ordering: .relaxed)
        while value > current {
            let (exchanged, original) = peak.compareExchange(
                expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// The highest value shown, or nil if none was.
    public var value: Int? {
        let value = peak.load(ordering: .relaxed)
        return value == Int.min ? nil : value
    }
}
