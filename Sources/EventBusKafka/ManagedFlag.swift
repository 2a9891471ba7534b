import Synchronization

/// A shareable stop flag: poll threads hold a reference to it rather than to the bus, so a bus that
/// is never shut down can still be released.
final class ManagedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    /// Whether the flag was raised.
    var isRaised: Bool { value.load(ordering: .acquiring) }

    /// Raises the flag.
    func raise() { value.store(true, ordering: .releasing) }
}
