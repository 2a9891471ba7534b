import Synchronization

/// Counts the broker's answers to one `publish` call (Kafka delivery reports, JetStream PubAcks)
/// and resumes its waiters once, after the last.
///
/// One object and one continuation per call, however many messages it carries: each answer only
/// decrements an atomic counter, and the one that brings it to zero resumes the caller.
/// The first failure wins; the caller learns it only after every message has been settled, so it
/// never returns while a message of its call is still undecided.
///
/// A pipelined call (``EventBus/publishPipelined(_:)-([OutgoingMessage])``) hands the object out in
/// a ``PublishReceipt``, which any number of tasks may await; the first waiter takes the inline
/// slot, so the common single waiter allocates nothing.
package final class PublishCompletion: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<EventBusError?, Never>?
        var continuationID: UInt64 = 0
        /// Waiters beyond the first, by ID.
        var others: [(id: UInt64, continuation: UnsafeContinuation<EventBusError?, Never>)] = []
        var nextWaiterID: UInt64 = 0
        var error: EventBusError?
        var finished = false
    }

    private let remaining: Atomic<Int>
    private let state = Mutex(State())
    /// Runs once, on the thread that settles the last message, before the waiters resume.
    private let onFinish: (@Sendable (EventBusError?) -> Void)?

    /// `onFinish` runs once when the last message is settled (on the broker client's thread that
    /// settled it, so it must be short and must not block), with the first failure if any.
    package init(count: Int, onFinish: (@Sendable (EventBusError?) -> Void)? = nil) {
        remaining = Atomic(count)
        self.onFinish = onFinish
    }

    /// Settles `count` messages; returns true for the call that settled the last one.
    @discardableResult
    package func settle(_ count: Int, error: EventBusError? = nil) -> Bool {
        if let error {
            state.withLock { state in
                if state.error == nil { state.error = error }
            }
        }
        let before = remaining.subtract(count, ordering: .acquiringAndReleasing).oldValue
        // The call that crosses zero resumes (an over-count never resumes twice).
        guard before > 0, before <= count else { return false }
        let finalError = state.withLock { $0.error }
        onFinish?(finalError)
        let (continuation, others) = state.withLock { state in
            state.finished = true
            let continuation = state.continuation
            state.continuation = nil
            var others: [(id: UInt64, continuation: UnsafeContinuation<EventBusError?, Never>)] = []
            swap(&others, &state.others)
            return (continuation, others)
        }
        continuation?.resume(returning: finalError)
        for other in others { other.continuation.resume(returning: finalError) }
        return true
    }

    /// Settles `count` messages (default 1); for callers that do not hold a reference of their own
    /// to release when the last one is settled.
    package func finish(count: Int = 1, error: EventBusError?) {
        settle(count, error: error)
    }

    /// Whether every message has been settled.
    package var isFinished: Bool { state.withLock { $0.finished } }

    /// Waits until every message is settled; returns the first failure, if any, or `cancelled`
    /// as soon as the calling task is cancelled (the broker's answers still settle the call's
    /// messages afterwards; the caller just stops waiting for them). Any number of tasks may wait.
    package func wait() async -> EventBusError? {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<EventBusError?, Never>) in
                let finishedError = state.withLock { state -> EventBusError?? in
                    if state.finished { return .some(state.error) }
                    if Task.isCancelled { return .some(Self.cancelled) }
                    if state.continuation == nil {
                        state.continuation = continuation
                        state.continuationID = id
                    } else {
                        state.others.append((id, continuation))
                    }
                    return .none
                }
                if let finishedError { continuation.resume(returning: finishedError) }
            }
        } onCancel: {
            let waiting = state.withLock { state -> UnsafeContinuation<EventBusError?, Never>? in
                if let continuation = state.continuation, state.continuationID == id {
                    state.continuation = nil
                    return continuation
                }
                guard let index = state.others.firstIndex(where: { $0.id == id }) else { return nil }
                return state.others.remove(at: index).continuation
            }
            waiting?.resume(returning: Self.cancelled)
        }
    }

    private static let cancelled = EventBusError(
        .cancelled,
        "the task was cancelled while waiting for the broker's acknowledgements; the messages may still be published")
}
