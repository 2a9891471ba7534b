import Dispatch
import Foundation
import Synchronization

/// Wakes a paced run's publishing tasks at their messages' due times from one plain thread, as the
/// raw clients' paced publishers wake from `usleep` on theirs.
///
/// `Task.sleep` registers a libdispatch timer per call, which its manager thread arms and fires
/// before a pool thread resumes the task. Measured (2026-11-30, `perf record` over
/// `eventbus-pressure --backend kafka --rate 5000 --duration 8 --pipelined`): that manager thread
/// took 17 % of the process's samples when each of the five publishing tasks slept once a message.
/// Here a task's wait is one continuation in a list; the thread sleeps on a semaphore until the
/// earliest due time and is signalled only when a task asks for an earlier one than it sleeps for.
final class PacingThread: Sendable {
    private struct Sleeper {
        var deadline: ContinuousClock.Instant
        var continuation: UnsafeContinuation<Void, Never>
    }

    private struct State {
        var sleepers: [Sleeper] = []
        /// What the thread sleeps until; nil while it runs or waits for a first sleeper.
        var sleepingUntil: ContinuousClock.Instant?
        var waitingForAny = false
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    init() {
        let thread = Thread { [self] in run() }
        thread.name = "eventbus.paced.pacer"
        thread.start()
    }

    /// Returns at `deadline` (at once if it has passed). Waits at most until `deadline`, also
    /// when the calling task is cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async {
        guard ContinuousClock.now < deadline else { return }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let signal = state.withLock { state -> Bool in
                state.sleepers.append(Sleeper(deadline: deadline, continuation: continuation))
                if state.waitingForAny {
                    state.waitingForAny = false
                    return true
                }
                if let until = state.sleepingUntil, deadline < until {
                    state.sleepingUntil = nil
                    return true
                }
                return false
            }
            if signal { wakeUp.signal() }
        }
    }

    /// Wakes every sleeper and lets the thread end (without waiting for it).
    func stop() {
        state.withLock { $0.stopped = true }
        wakeUp.signal()
    }

    private func run() {
        while true {
            let now = ContinuousClock.now
            let (due, next, stopped) = state.withLock { state -> ([Sleeper], ContinuousClock.Instant?, Bool) in
                var due: [Sleeper] = []
                var next: ContinuousClock.Instant?
                var index = 0
                while index < state.sleepers.count {
                    let sleeper = state.sleepers[index]
                    if state.stopped || sleeper.deadline <= now {
                        due.append(state.sleepers.remove(at: index))
                    } else {
                        next = min(next ?? sleeper.deadline, sleeper.deadline)
                        index += 1
                    }
                }
                state.sleepingUntil = next
                state.waitingForAny = next == nil && !state.stopped
                return (due, next, state.stopped)
            }
            for sleeper in due { sleeper.continuation.resume() }
            if stopped { break }
            if let next {
                let nanoseconds = max(0, (next - ContinuousClock.now).nanosecondsRoundedUp)
                _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
            } else {
                wakeUp.wait()
            }
        }
    }
}

extension Duration {
    /// This duration in whole nanoseconds, rounded up.
    fileprivate var nanosecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + (attoseconds + 999_999_999) / 1_000_000_000
    }
}
