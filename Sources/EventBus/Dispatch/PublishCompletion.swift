import Synchronization

/// Counts the broker's answers to one `publish` call (Kafka delivery reports, JetStream PubAcks)
/// and resumes the caller once, after the last.
///
/// One object and one continuation per call, however many messages it carries: each answer only
/// decrements an atomic counter, and the one that brings it to zero resumes the caller.
/// The first failure wins; the caller learns it only after every message has been settled, so it
/// never returns while a message of its call is still undecided.
package final class PublishCompletion: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<EventBusError?, Never>?
        var error: EventBusError?
        var finished = false
    }

    private let remaining: Atomic<Int>
    private let state = Mutex(State())

    package init(count: Int) {
        remaining = Atomic(count)
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
        let (continuation, error) = state.withLock { state in
            state.finished = true
            let continuation = state.continuation
            state.continuation = nil
            return (continuation, state.error)
        }
        continuation?.resume(returning: error)
        return true
    }

    /// Settles `count` messages (default 1); for callers that do not hold a reference of their own
    /// to release when the last one is settled.
    package func finish(count: Int = 1, error: EventBusError?) {
        settle(count, error: error)
    }

    /// Waits until every message is settled; returns the first failure, if any, or `cancelled`
    /// as soon as the calling task is cancelled (the broker's answers still settle the call's
    /// messages afterwards; the caller just stops waiting for them).
    package func wait() async -> EventBusError? {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<EventBusError?, Never>) in
                let finishedError = state.withLock { state -> EventBusError?? in
                    if state.finished { return .some(state.error) }
                    if Task.isCancelled { return .some(Self.cancelled) }
                    state.continuation = continuation
                    return .none
                }
                if let finishedError { continuation.resume(returning: finishedError) }
            }
        } onCancel: {
            let waiting = state.withLock { state -> UnsafeContinuation<EventBusError?, Never>? in
                defer { state.continuation = nil }
                return state.continuation
            }
            waiting?.resume(returning: Self.cancelled)
        }
    }

    private static let cancelled = EventBusError(
        .cancelled,
        "the task was cancelled while waiting for the broker's acknowledgements; the messages may still be published")
}
