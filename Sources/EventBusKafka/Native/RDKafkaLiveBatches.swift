import Synchronization

/// The fetched batches of one consumer whose librdkafka messages are not destroyed yet: the
/// consumer's handle may only be destroyed after every message it returned was, so its `close`
/// moves what handlers still keep out of librdkafka first (``evacuateAll()``).
final class RDKafkaLiveBatches: Sendable {
    private let count = Atomic<Int>(0)
    /// Unretained: a batch unregisters itself in `deinit`, under this lock, before it touches
    /// anything else, so a batch found here under the lock has its storage (it may be waiting in
    /// its `deinit` for the lock, and then finds itself evacuated).
    private let registered = Mutex<[ObjectIdentifier: Unmanaged<RDKafkaFetchedBatch>]>([:])

    /// Batches whose messages are not destroyed yet.
    var live: Int { count.load(ordering: .acquiring) }

    /// Counts `batch` until ``released()`` and lets ``evacuateAll()`` find it until ``unregister(_:)``.
    func register(_ batch: RDKafkaFetchedBatch) {
        count.add(1, ordering: .relaxed)
        registered.withLock { $0[ObjectIdentifier(batch)] = Unmanaged.passUnretained(batch) }
    }

    /// Called first in the batch's `deinit`.
    func unregister(_ batch: RDKafkaFetchedBatch) {
        _ = registered.withLock { $0.removeValue(forKey: ObjectIdentifier(batch)) }
    }

    /// A batch's messages were destroyed.
    func released() { count.subtract(1, ordering: .releasing) }

    /// Moves the content of every registered batch out of librdkafka (``RDKafkaFetchedBatch/evacuate()``).
    func evacuateAll() {
        registered.withLock { batches in
            for batch in batches.values { batch._withUnsafeGuaranteedRef { $0.evacuate() } }
        }
    }
}
