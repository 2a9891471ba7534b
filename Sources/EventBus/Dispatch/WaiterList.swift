import DequeModule

/// Tasks parked until a condition holds, in arrival order, each removable by its ID when its task
/// is cancelled. Kept inside its owner's lock.
package struct WaiterList {
    private var waiters: Deque<(id: UInt64, continuation: UnsafeContinuation<Void, Never>)> = []

    package init() {}

    /// Whether nobody waits.
    package var isEmpty: Bool { waiters.isEmpty }

    /// Parks `continuation` under `id`.
    package mutating func append(_ id: UInt64, _ continuation: UnsafeContinuation<Void, Never>) {
        waiters.append((id, continuation))
    }

    /// Takes out the waiter with `id`, if it still waits (its task was cancelled).
    package mutating func remove(_ id: UInt64) -> UnsafeContinuation<Void, Never>? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index).continuation
    }

    /// Takes out every waiter, to be resumed outside the lock.
    package mutating func removeAll() -> [UnsafeContinuation<Void, Never>] {
        defer { waiters.removeAll() }
        return waiters.map(\.continuation)
    }
}

/// Suspends the calling task until it is resumed, or until it is cancelled.
///
/// `park` runs once, inside the caller's lock, with the task's continuation: it returns true when
/// it parked it under `id` (to be resumed when the condition holds), false when the caller need
/// not wait (the condition holds already, or the task is already cancelled: check
/// `Task.isCancelled` there). `unpark` takes a parked continuation out again by `id`, under the
/// same lock; it runs when the task is cancelled, and the continuation it returns is resumed. The
/// caller checks `Task.isCancelled` afterwards to tell cancellation from the condition.
package func waitUnlessCancelled(
    id: UInt64, park: (UnsafeContinuation<Void, Never>) -> Bool,
    unpark: @escaping @Sendable (UInt64) -> UnsafeContinuation<Void, Never>?
) async {
    await withTaskCancellationHandler {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            if !park(continuation) { continuation.resume() }
        }
    } onCancel: {
        unpark(id)?.resume()
    }
}
