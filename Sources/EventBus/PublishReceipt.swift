/// The outcome of a pipelined publish call, to await when its messages' acknowledgements matter.
///
/// ``EventBus/publishPipelined(_:)-([OutgoingMessage])`` returns one once the backend has taken the
/// call's messages in order; the broker's acknowledgements (Kafka delivery reports, JetStream
/// PubAcks) arrive later and settle it. Dropping a receipt unawaited does not cancel or lose
/// anything: the messages are still published, and failures still count in the publish metrics and
/// end the producer spans with an error; only the caller does not learn of them.
///
/// Any number of tasks may await one receipt.
public struct PublishReceipt: Sendable {
    private let completion: PublishCompletion?

    package init(_ completion: PublishCompletion) {
        self.completion = completion
    }

    private init() {
        completion = nil
    }

    /// A receipt for messages already acknowledged, for backends whose publish call waits anyway.
    package static let settled = PublishReceipt()

    /// Waits until the broker has acknowledged every message of the call.
    ///
    /// Throws the first failure among the call's messages, after all of them were settled
    /// (messages other than the failed one may have been stored), with the codes
    /// ``EventBus/publish(_:)-([OutgoingMessage])`` throws; `cancelled` as soon as the waiting task
    /// is cancelled (the messages still go on to be published or fail).
    public func acknowledged() async throws(EventBusError) {
        guard let completion else { return }
        if let error = await completion.wait() { throw error }
    }

    /// Whether every message of the call has been acknowledged or failed, without waiting.
    public var isSettled: Bool { completion?.isFinished ?? true }
}
