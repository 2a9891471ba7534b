/// A running subscription of one handler to one topic within one consumer group: one member of
/// the group.
///
/// Members of a group share the topic's partitions; when one joins or leaves, partitions move
/// between them without a key ever being handled by two members at once (see
/// ``EventBus/subscribe(topic:group:handler:)`` and `Docs/Ordering.md`).
public protocol Subscription: Sendable {
    /// The topic it reads.
    var topic: String { get }
    /// The consumer group it belongs to.
    var group: String { get }

    /// Stops taking messages and waits for handlers already running to return.
    ///
    /// Messages that were received but not yet handled are not acknowledged, so the backend
    /// redelivers them to another member of the group. Calling it twice is harmless.
    ///
    /// Called from one of this subscription's own handlers (or a task started there), it returns
    /// at once instead of waiting for that handler, and the subscription finishes closing after
    /// the handler has returned.
    func close() async
}
