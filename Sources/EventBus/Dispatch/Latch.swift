import Dispatch
import Synchronization

/// A one-shot signal: it opens once, and everything waiting for it, tasks and threads alike,
/// resumes then; waiting on an open latch returns at once.
///
/// The backends hand moments over with it between their own threads (a poll or fetch thread
/// blocks in C calls and cannot `await`) and the subscription's tasks: "the fetch thread has
/// stopped", "every handler has returned", "the revoked partitions have nothing running".
package final class Latch: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [UnsafeContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    /// Wakes threads blocked in ``wait(timeout:)``; each one passes the wake-up on.
    private let semaphore = DispatchSemaphore(value: 0)

    package init() {}

    /// Whether the latch has opened.
    package var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Opens the latch and resumes every waiter; opening it again does nothing.
    package func open() {
        let waiters = state.withLock { state -> [UnsafeContinuation<Void, Never>]? in
            guard !state.isOpen else { return nil }
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return }
        for waiter in waiters { waiter.resume() }
        semaphore.signal()
    }

    /// Suspends until the latch is open.
    package func wait() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let open = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }

    /// Blocks the calling thread until the latch is open, or at most `timeout` (nil: without a
    /// bound); returns whether it opened. Only for a backend's own threads, never inside a task.
    @discardableResult
    package func wait(timeout: Duration?) -> Bool {
        if isOpen { return true }
        let woken: Bool
        if let timeout {
            let nanoseconds =
                max(0, timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds
                / 1_000_000_000
            woken = semaphore.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds))) == .success
        } else {
            semaphore.wait()
            woken = true
        }
        // One signal wakes one thread: pass it on to the next one blocked here.
        if woken { semaphore.signal() }
        return woken || isOpen
    }
}
