import Synchronization

/// Bounds how many pipelined messages a backend holds unacknowledged: a pipelined call takes room
/// for its messages before they are queued and its acknowledgements give it back.
///
/// A call larger than the whole window waits until nothing is outstanding, then goes alone, so
/// that any call can make progress. Waiters are served first come, first served, so a large call
/// is not overtaken for ever by small ones.
package final class PublishWindow: Sendable {
    private struct Waiter {
        var id: UInt64
        var count: Int
        var continuation: UnsafeContinuation<Bool, Never>
    }

    private struct State {
        var outstanding = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        var closed = false
    }

    /// Messages that may be outstanding at once.
    package let limit: Int
    private let state = Mutex(State())

    package init(limit: Int) {
        precondition(limit >= 1, "a publish window holds at least one message")
        self.limit = limit
    }

    /// Messages taken and not yet given back.
    package var outstanding: Int { state.withLock { $0.outstanding } }

    /// Calls waiting for room.
    package var waiting: Int { state.withLock { $0.waiters.count } }

    /// Takes room for `count` messages, waiting while the window is full.
    ///
    /// Throws `cancelled` when the calling task is cancelled while waiting and `shutDown` once
    /// ``close()`` was called; neither takes any room.
    package func acquire(_ count: Int) async throws(EventBusError) {
        let (id, admitted) = state.withLock { state -> (UInt64, Bool) in
            state.nextID &+= 1
            if state.closed { return (state.nextID, false) }
            if state.waiters.isEmpty, fits(count, state.outstanding) {
                state.outstanding += count
                return (0, true)
            }
            return (state.nextID, false)
        }
        if admitted { return }
        if state.withLock({ $0.closed }) { throw Self.closedError }
        let granted = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.closed || Task.isCancelled { return false }
                    if state.waiters.isEmpty, fits(count, state.outstanding) {
                        state.outstanding += count
                        return true
                    }
                    state.waiters.append(Waiter(id: id, count: count, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let (waiter, admitted) = state.withLock { state -> (Waiter?, [UnsafeContinuation<Bool, Never>]) in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return (nil, []) }
                let waiter = state.waiters.remove(at: index)
                // The waiters it held back may fit now: without this they would wait for the next
                // release (as long as an ack timeout while acknowledgements stall) with room free.
                return (waiter, admitFitting(&state))
            }
            waiter?.continuation.resume(returning: false)
            for continuation in admitted { continuation.resume(returning: true) }
        }
        if granted { return }
        if state.withLock({ $0.closed }) { throw Self.closedError }
        throw EventBusError(.cancelled, "the task was cancelled while waiting for room among pipelined publishes")
    }

    /// Gives back room for `count` messages and admits the waiters that now fit, in order.
    package func release(_ count: Int) {
        let admitted = state.withLock { state -> [UnsafeContinuation<Bool, Never>] in
            state.outstanding -= count
            return admitFitting(&state)
        }
        for continuation in admitted { continuation.resume(returning: true) }
    }

    /// Takes room for the waiters at the front that fit, in order; returns them to resume.
    private func admitFitting(_ state: inout State) -> [UnsafeContinuation<Bool, Never>] {
        var admitted: [UnsafeContinuation<Bool, Never>] = []
        while let first = state.waiters.first, fits(first.count, state.outstanding) {
            state.outstanding += first.count
            admitted.append(state.waiters.removeFirst().continuation)
        }
        return admitted
    }

    /// Fails every waiter and every later ``acquire(_:)`` with `shutDown`.
    package func close() {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            var waiters: [Waiter] = []
            swap(&waiters, &state.waiters)
            return waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: false) }
    }

    private func fits(_ count: Int, _ outstanding: Int) -> Bool {
        outstanding == 0 || outstanding + count <= limit
    }

    private static let closedError = EventBusError(.shutDown, "the bus was shut down")
}
