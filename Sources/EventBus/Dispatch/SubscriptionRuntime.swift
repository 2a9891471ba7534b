import Synchronization

/// The two steps of closing a subscription that only its backend knows how to take.
package protocol SubscriptionIntake: Sendable {
    /// Stops taking messages from the broker: nothing more is offered to the pool afterwards
    /// (a poll or fetch thread notices and winds down). Must return at once.
    func stopIntake()

    /// Runs once every handler of the subscription has returned: acknowledges what finished, hands
    /// back what did not (so the group redelivers it now, not after a timeout), leaves the group and
    /// frees what the subscription holds.
    func release() async
}

/// The lifecycle every backend's subscription shares: it runs the subscription's ``ActorPool`` and
/// closes it in one order, whoever asks and from wherever.
///
/// Closing is: stop the intake, stop the pool (queued messages get no outcome), wait until every
/// running handler has returned, let the backend release, and only then report the subscription
/// closed. All of it runs in the runtime's own task, so ``close()`` called from one of the pool's
/// own handlers only asks for it and returns; the close completes after that handler returned,
/// without a detached task. The states move one way: `created → running → closing → closed`
/// (`created → closed` when it never started); an illegal move traps.
package final class SubscriptionRuntime: Sendable {
    private struct Machine {
        enum Phase {
            case created
            case running
            case closing
            case closed
        }

        var phase = Phase.created
        /// The runtime's task, waiting for a close request.
        var supervisor: UnsafeContinuation<Void, Never>?
        var closeWaiters: [UnsafeContinuation<Void, Never>] = []

        mutating func started() {
            guard case .created = phase else { preconditionFailure("a subscription runtime starts once") }
            phase = .running
        }

        /// Returns the supervisor to wake, if it already waits.
        mutating func requestClose() -> UnsafeContinuation<Void, Never>? {
            switch phase {
            case .created:
                phase = .closed
                return nil
            case .running:
                phase = .closing
                defer { supervisor = nil }
                return supervisor
            case .closing, .closed:
                return nil
            }
        }

        /// Parks the supervisor until a close request; false when one came already.
        mutating func supervisorWaits(_ continuation: UnsafeContinuation<Void, Never>) -> Bool {
            switch phase {
            case .running:
                supervisor = continuation
                return true
            case .closing:
                return false
            case .created, .closed:
                preconditionFailure("the supervisor runs only between start and close")
            }
        }

        /// Returns whether the caller must wait for the close to complete.
        mutating func waitForClosed(_ continuation: UnsafeContinuation<Void, Never>) -> Bool {
            guard case .closed = phase else {
                closeWaiters.append(continuation)
                return true
            }
            return false
        }

        mutating func finished() -> [UnsafeContinuation<Void, Never>] {
            guard case .closing = phase else { preconditionFailure("a subscription closes once, after it ran") }
            phase = .closed
            defer { closeWaiters.removeAll() }
            return closeWaiters
        }
    }

    /// The pool the subscription's messages are handled in.
    package let pool: ActorPool
    private let machine = Mutex(Machine())

    /// Creates the runtime of a subscription whose messages `pool` handles; nothing runs yet.
    package init(pool: ActorPool) {
        self.pool = pool
    }

    /// A description of the subscription's stall for health details ("3 actors hold messages and
    /// finished none for 42 s"), or nil when it makes progress; see ``ActorPool/stall(now:)``.
    package func stallDescription(now: ContinuousClock.Instant = .now) -> String? {
        guard !isClosed, let stall = pool.stall(now: now) else { return nil }
        return "\(stall.actors) actor(s) hold messages and finished none for \(stall.longest.components.seconds) s"
    }

    /// Whether the subscription has finished closing.
    package var isClosed: Bool {
        machine.withLock { machine in
            if case .closed = machine.phase { return true }
            return false
        }
    }

    /// Starts the pool, and `feed` beside it when given (a delivery loop that runs as a task, for
    /// backends without a thread of their own), and returns once the pool's actors run. When the
    /// subscription has released, `onClosed` runs once, before any `close()` returns.
    ///
    /// While the pool's metrics are on (``ActorPool/metrics``), a sampler records the in-flight
    /// and inbox-depth gauges and, through `lag`, the consumer-lag gauges every
    /// ``ActorPoolConfiguration/metricsSampleInterval``, until the close begins; a failed lag
    /// reading leaves the gauges as they were.
    package func start(
        intake: any SubscriptionIntake, feed: (@Sendable () async -> Void)? = nil,
        lag: (@Sendable () async throws(EventBusError) -> ConsumerLag)? = nil,
        onClosed: @escaping @Sendable () -> Void = {}
    ) async {
        machine.withLock { $0.started() }
        let pool = self.pool
        Task {
            // Not awaited at close: a lag reading in progress (bounded by the backend's request
            // timeout) must not hold the close up; it ends after that reading.
            let sampler = pool.metrics.map { metrics in
                Task { await Self.sample(pool: pool, metrics: metrics, lag: lag) }
            }
            await withDiscardingTaskGroup { group in
                group.addTask { await pool.run() }
                if let feed { group.addTask { await feed() } }
                await self.waitForCloseRequest()
                sampler?.cancel()
                intake.stopIntake()
                pool.stop()
            }
            // Every handler has returned.
            await intake.release()
            // Before the waiters resume: when close() returns, the bus has forgotten the subscription.
            onClosed()
            let waiters = self.machine.withLock { $0.finished() }
            for waiter in waiters { waiter.resume() }
        }
        await pool.waitUntilRunning()
    }

    /// Closes the subscription (see the type's description) and returns once it is closed; called
    /// from one of its own handlers (or a task started there), it returns at once instead and the
    /// close completes after that handler returned. Calling it again is harmless.
    package func close() async {
        machine.withLock { $0.requestClose() }?.resume()
        if pool.isCallingFromHandler { return }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            if !machine.withLock({ $0.waitForClosed(continuation) }) { continuation.resume() }
        }
    }

    private static func sample(
        pool: ActorPool, metrics: SubscriptionMetrics,
        lag: (@Sendable () async throws(EventBusError) -> ConsumerLag)?
    ) async {
        while !Task.isCancelled {
            pool.sampleGauges()
            if let lag, let reading = try? await lag(), !Task.isCancelled { metrics.record(reading) }
            try? await Task.sleep(for: pool.metricsSampleInterval)
        }
    }

    private func waitForCloseRequest() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            if !machine.withLock({ $0.supervisorWaits(continuation) }) { continuation.resume() }
        }
    }
}
