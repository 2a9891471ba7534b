import EventBus
import Synchronization

/// Counts down the acknowledgements of one `publish` call and resumes its caller once, at the end.
///
/// One continuation per call, not per message: the PubAck handler only decrements a counter.
final class PublishCompletion: Sendable {
    private struct State {
        var remaining: Int
        var firstError: EventBusError?
        var continuation: UnsafeContinuation<EventBusError?, Never>?
    }

    private let state: Mutex<State>

    init(count: Int, continuation: UnsafeContinuation<EventBusError?, Never>) {
        state = Mutex(State(remaining: count, firstError: nil, continuation: continuation))
    }

    /// Records the outcome of `count` messages; the last one resumes the caller.
    func finish(count: Int = 1, error: EventBusError?) {
        let resuming = state.withLock { state -> (UnsafeContinuation<EventBusError?, Never>, EventBusError?)? in
            if state.firstError == nil, let error { state.firstError = error }
            state.remaining -= count
            guard state.remaining <= 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.firstError)
        }
        if let (continuation, error) = resuming {
            continuation.resume(returning: error)
        }
    }
}
