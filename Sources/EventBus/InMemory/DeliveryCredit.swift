import Synchronization

/// Limits how many messages a subscription holds between delivery and outcome.
///
/// The subscription acquires credit before taking messages and gets it back as outcomes arrive, so a
/// slow handler stops the intake instead of letting delivered messages pile up.
final class DeliveryCredit: Sendable {
    private struct State {
        var available: Int
        var waiter: UnsafeContinuation<Void, Never>?
        var closed = false
    }

    private let state: Mutex<State>

    init(limit: Int) {
        state = Mutex(State(available: limit))
    }

    /// Takes up to `wanted` credits, waiting while none are free; 0 once closed.
    func acquire(upTo wanted: Int) async -> Int {
        while true {
            let granted = state.withLock { state -> Int? in
                if state.closed { return 0 }
                guard state.available > 0 else { return nil }
                let granted = min(wanted, state.available)
                state.available -= granted
                return granted
            }
            if let granted { return granted }
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.closed || state.available > 0 { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Returns credits; wakes the waiting taker.
    func release(_ count: Int) {
        guard count > 0 else { return }
        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.available += count
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Makes every current and future ``acquire(upTo:)`` return 0.
    func close() {
        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
