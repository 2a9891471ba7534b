import Synchronization

/// A count shared between handlers and the scenario that checks it.
public final class Counter: Sendable {
    private let storage = Atomic<Int>(0)

    /// Creates a counter at zero.
    public init() {}

    /// Adds `amount` and returns the new value.
    @discardableResult
    public func add(_ amount: Int = 1) -> Int {
        storage.wrappingAdd(amount, ordering: .relaxed).newValue
    }

    /// The current value.
    public var value: Int { storage.load(ordering: .relaxed) }
}
