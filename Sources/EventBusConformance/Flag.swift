import Synchronization

/// A boolean that one task sets and others poll.
public final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    /// Creates an unset flag.
    public init() {}

    /// Sets the flag.
    public func set() { value.store(true, ordering: .releasing) }

    /// Whether the flag was set.
    public var isSet: Bool { value.load(ordering: .acquiring) }
}
