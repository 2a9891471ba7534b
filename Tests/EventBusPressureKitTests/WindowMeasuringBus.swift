import EventBus
import Synchronization

/// An in-memory bus that holds publish calls until `callsToGather` of them are in flight at once,
/// then records how many envelopes those calls carried: the workload's publish window, measured.
final class WindowMeasuringBus: EventBus {
    private struct Gate {
        var gathered = 0
        var envelopes = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        var open = false
    }

    private let inner: InMemoryEventBus
    private let callsToGather: Int
    private let gate = Mutex(Gate())

    init(callsToGather: Int) throws {
        inner = try InMemoryEventBus()
        self.callsToGather = callsToGather
    }

    /// Envelopes in the first `callsToGather` publish calls, all in flight together.
    var gatheredEnvelopes: Int { gate.withLock { $0.envelopes } }

    func publish(_ envelopes: [Envelope], to topic: String) async throws(EventBusError) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let release = gate.withLock { gate -> [CheckedContinuation<Void, Never>] in
                if gate.open { return [continuation] }
                gate.gathered += 1
                gate.envelopes += envelopes.count
                gate.waiting.append(continuation)
                guard gate.gathered == callsToGather else { return [] }
                gate.open = true
                defer { gate.waiting.removeAll() }
                return gate.waiting
            }
            for waiting in release { waiting.resume() }
        }
        try await inner.publish(envelopes, to: topic)
    }

    func publish(_ message: OutgoingMessage) async throws(EventBusError) { try await inner.publish(message) }
    func publish(_ messages: [OutgoingMessage]) async throws(EventBusError) { try await inner.publish(messages) }

    func subscribe(
        topic: String, group: String, handler: @escaping MessageHandler
    ) async throws(EventBusError) -> any Subscription {
        try await inner.subscribe(topic: topic, group: group, handler: handler)
    }

    func makeEnvelopeSubscription(
        topic: String, group: String, handler: @escaping EnvelopeHandler
    ) async throws(EventBusError) -> any Subscription {
        try await inner.makeEnvelopeSubscription(topic: topic, group: group, handler: handler)
    }

    func consumerLag(topic: String, group: String) async throws(EventBusError) -> ConsumerLag {
        try await inner.consumerLag(topic: topic, group: group)
    }

    func health() async -> BusHealth { await inner.health() }
    func shutdown() async { await inner.shutdown() }
}
