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
///
/// It is also a `TaskExecutor`: publishing tasks started with it as their executor preference
/// (``PacedRunner/Plan/publishOnPacingThread``) run on this thread, so a task woken at its due time
/// runs here at once and publishes from this thread, as a raw paced publisher does after its
/// `usleep`, instead of being handed to a pool thread that must wake first. Jobs run in the order
/// they were enqueued, between the wake-ups of due sleepers.
final class PacingThread: TaskExecutor, Sendable {
    private struct Sleeper {
        var deadline: ContinuousClock.Instant
        var continuation: UnsafeContinuation<Void, Never>
    }

    private struct State {
        var sleepers: [Sleeper] = []
        /// Jobs of tasks that prefer this executor, to run on the thread in order.
        var jobs: [UnownedJob] = []
        /// What the thread sleeps until; nil while it runs or waits for a first sleeper.
        var sleepingUntil: ContinuousClock.Instant?
        var waitingForAny = false
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    init() {
        let thread = Thread { [self] in
            // Named from the thread itself, in at most 15 characters (Linux refuses longer names),
            // so profiles tell it from the pool thread that created it.
            Thread.current.name = "paced.pacer"
            run()
        }
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

    /// Runs `job` on the pacing thread, after the jobs enqueued before it.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let signal = state.withLock { state -> Bool in
            state.jobs.append(job)
            guard state.waitingForAny || state.sleepingUntil != nil else { return false }
            state.waitingForAny = false
            state.sleepingUntil = nil
            return true
        }
        if signal { wakeUp.signal() }
    }

    /// Wakes every sleeper and lets the thread end (without waiting for it) once no job is left.
    /// Call it only after every task preferring this executor has finished: a job enqueued after
    /// the thread ended would never run.
    func stop() {
        state.withLock { $0.stopped = true }
        wakeUp.signal()
    }

    private func run() {
        while true {
            let now = ContinuousClock.now
            let (due, jobs, next, stopped) = state.withLock {
                state -> ([Sleeper], [UnownedJob], ContinuousClock.Instant?, Bool) in
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
                var jobs: [UnownedJob] = []
                swap(&jobs, &state.jobs)
                if due.isEmpty && jobs.isEmpty {
                    state.sleepingUntil = next
                    state.waitingForAny = next == nil && !state.stopped
                } else {
                    // Runs again before it sleeps: enqueuers need not signal meanwhile.
                    state.sleepingUntil = nil
                    state.waitingForAny = false
                }
                return (due, jobs, next, state.stopped)
            }
            // A resumed task that prefers this executor enqueues its job here: run on the next pass.
            for sleeper in due { sleeper.continuation.resume() }
            for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
            if !due.isEmpty || !jobs.isEmpty { continue }
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
