import EventBus
import Synchronization

/// Collects decoded envelopes a handler received.
final class EnvelopeCollector: Sendable {
    private let envelopes = Mutex<[Envelope]>([])
    func add(_ envelope: Envelope) { envelopes.withLock { $0.append(envelope) } }
    var all: [Envelope] { envelopes.withLock { $0 } }
    var count: Int { envelopes.withLock { $0.count } }
}
