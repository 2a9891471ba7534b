/// What a member waiting for messages is woken with.
enum TakeResult: Sendable {
    /// Messages to handle were put into the taker's batch.
    case messages
    /// Something changed (new messages, new partitions); look again.
    case retry
    /// The member is leaving; stop taking.
    case closed
}
