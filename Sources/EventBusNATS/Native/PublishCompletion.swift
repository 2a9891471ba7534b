import EventBus
import Synchronization

/// Counts down the acknowledgements of one `publish` call and resumes its caller once, at the end.
///
/// One continuation per call, not per message: the PubAck handler only decrements a counter.
final class PublishCompletion: Sendable {
    private struct State {
        var remaining: Int
        var firstError: EventBusError?
        var finished = false
        var continuation: UnsafeContinuation<EventBusError?, Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(remaining: count))
    }

    /// Records the outcome of `count` messages; the last one resumes the caller.
    func finish(count: Int = 1, error: EventBusError?) {
        let resuming = state.withLock { state -> (UnsafeContinuation<EventBusError?, Never>?, EventBusError?)? in
            if state.firstError == nil, let error { state.firstError = error }
            state.remaining -= count
            guard state.remaining <= 0, !state.finished else { return nil }
            state.finished = true
            defer { state.continuation = nil }
            return (state.continuation, state.firstError)
        }
        if let (continuation, error) = resuming {
            continuation?.resume(returning: error)
        }
    }

    /// Waits until every message has an outcome; returns the first failure, or `cancelled` as soon
    /// as the calling task is cancelled (the acknowledgements still settle the messages afterwards;
    /// the caller just stops waiting for them).
    func wait() async -> EventBusError? {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<EventBusError?, Never>) in
                let ready = state.withLock { state -> EventBusError?? in
                    if state.finished { return .some(state.firstError) }
                    if Task.isCancelled { return .some(Self.cancelled) }
                    state.continuation = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
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
        .cancelled, "the task was cancelled while waiting for acknowledgements; the messages may still be stored")
}
