import Synchronization

/// How many fetched batches of one consumer are still alive; the consumer's handle may only be
/// destroyed after every message it returned was destroyed.
final class RDKafkaBatchCount: Sendable {
    private let value = Atomic<Int>(0)

    /// Batches not yet freed.
    var live: Int { value.load(ordering: .acquiring) }

    func increment() { value.add(1, ordering: .relaxed) }

    func decrement() { value.subtract(1, ordering: .releasing) }
}
