import EventBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension KafkaSubscription {
    /// The poll thread: fetch in batches, tag and track, offer to the pool, pause when it is full,
    /// commit periodically; on close, stop the pool, commit what finished and leave the group.
    func pollLoop() {
        let clock = ContinuousClock()
        let assignmentDeadline = clock.now + options.assignmentTimeout
        var nextCommit = clock.now + options.commitInterval
        // Reused fetch after fetch: the pool moves the messages out and leaves the capacity.
        var batch: [ReceivedMessage] = []
        // Per message of `batch`, its actor (-1: keyless), chosen once while fetching.
        var actors: [Int] = []
        // Pausing makes librdkafka drop what it prefetched for those partitions and fetch it again
        // on resume, so a pool that is full for a moment is waited for briefly before pausing.
        let pauseAfter = Duration.milliseconds(20)
        var fullSince: ContinuousClock.Instant?
        while !lifecycle.withLock({ $0.closeRequested }) {
            if pending.isEmpty {
                fetch(into: &batch, actors: &actors, timeoutMilliseconds: 50)
                if !batch.isEmpty {
                    // Handed over, not copied: the pool moves the messages into its inboxes.
                    pending.offer(draining: &batch, actors: actors, to: pool)
                    actors.removeAll(keepingCapacity: true)
                    if !pending.isEmpty { fullSince = clock.now }
                }
            } else if paused.isEmpty {
                // The pool is full: retry for a moment without fetching more.
                usleep(200)
                pending.retry(pool)
                if !pending.isEmpty, let since = fullSince, clock.now - since >= pauseAfter {
                    paused = progress.withLock { $0.partitions.keys }
                    consumer.pause(paused)
                    if paused.isEmpty {
                        // Nothing left to pause (all revoked): keep serving the group meanwhile.
                        fetch(into: &batch, actors: &actors, timeoutMilliseconds: 1)
                        pending.hold(batch)
                        batch.removeAll(keepingCapacity: true)
                        actors.removeAll(keepingCapacity: true)
                    }
                }
            } else {
                // Paused: keep serving rebalances and heartbeats, and retry as the pool drains.
                fetch(into: &batch, actors: &actors, timeoutMilliseconds: 1)
                if !batch.isEmpty {
                    pending.hold(batch)
                    batch.removeAll(keepingCapacity: true)
                    actors.removeAll(keepingCapacity: true)
                }
                if pending.retry(pool) {
                    consumer.resume(paused)
                    paused = []
                }
            }
            let now = clock.now
            if now >= nextCommit {
                commit(takeCommittable(), wait: false)
                nextCommit = now + options.commitInterval
            }
            if now >= assignmentDeadline && lifecycle.withLock({ $0.assignmentResult == nil }) {
                resolveAssignment(
                    EventBusError(
                        .timeout,
                        "no partitions of '\(topic)' were assigned to group '\(group)' within \(options.assignmentTimeout)",
                        isRetriable: true))
            }
        }
        shutDownOnPollThread()
    }

    private func shutDownOnPollThread() {
        _ = pending.removeAll()
        // The subscription's runtime stops the pool; once its running handlers have returned it
        // says so, and their outcomes are committed below.
        handlersReturned.wait(timeout: nil)
        commit(takeCommittable(), wait: true)
        consumer.close()
        consumer.callbackContext.rebalanceHandler.withLock { $0 = nil }
        resolveAssignment(EventBusError(.shutDown, "the subscription was closed"))
        released.open()
        logger.debug(
            "subscription closed", metadata: ["eventbus.topic": "\(topic)", "eventbus.group": "\(group)"])
    }

    /// Polls the consumer and appends what it took to `batch`, each message tagged with its
    /// partition's assignment generation and its offset tracked, and its actor to `actors` (-1
    /// when keyless); messages of partitions no longer assigned are left out (the next owner reads
    /// them).
    ///
    /// The messages are built and cut into runs of consecutive offsets of one partition before the
    /// lock is taken; under it each run is tracked at once, so the lock that every outcome report
    /// also takes is held for a few steps a fetch, not one a message. Measured (2026-11-30,
    /// `perf record -g` over `eventbus-kafka-compare --consume-only`): with tracking and tagging a
    /// message at a time under the lock, the handling threads' outcome reports waited for it
    /// (`Mutex._lockSlow` and futex calls from `completed`, ~1.5 % of the consume window).
    private func fetch(into batch: inout [ReceivedMessage], actors: inout [Int], timeoutMilliseconds: Int32) {
        guard consumer.poll(timeoutMilliseconds: timeoutMilliseconds) > 0 else { return }
        let first = batch.count
        let pool = self.pool
        // Each key is hashed once: the actor it maps to is also the lane its content is copied on.
        consumer.take(into: &batch, lanes: &actors) { pool.actorIndex(forKey: $0) }
        let runs = Self.offsetRuns(of: batch, from: first)
        let generations = progress.withLock { progress in
            runs.map { run in
                progress.partitions.update(run.partition) { state -> UInt64 in
                    state.tracker.track(consecutiveFrom: run.offset, count: run.count)
                    return state.generation
                } ?? 0
            }
        }
        var dropped = false
        batch.withUnsafeMutableBufferPointer { messages in
            var index = first
            for (run, generation) in zip(runs, generations) {
                for _ in 0..<run.count {
                    messages[index].deliveryTag = generation
                    index += 1
                }
                dropped = dropped || generation == 0
            }
        }
        if dropped {
            var kept = first
            for index in first..<batch.count where batch[index].deliveryTag != 0 {
                batch.swapAt(kept, index)
                actors.swapAt(kept, index)
                kept += 1
            }
            batch.removeSubrange(kept...)
            actors.removeSubrange(kept...)
        }
    }

    /// A run of a fetch's messages: one partition's, with consecutive offsets from `offset`.
    struct OffsetRun: Sendable {
        var partition: Int32
        var offset: Int64
        var count: Int
    }

    /// The runs `messages[first...]` falls into, in order.
    static func offsetRuns(of messages: [ReceivedMessage], from first: Int) -> [OffsetRun] {
        var runs: [OffsetRun] = []
        messages.withUnsafeBufferPointer { messages in
            for index in first..<messages.count {
                let partition = messages[index].partition
                let offset = messages[index].offset
                if let last = runs.last, last.partition == partition, last.offset + Int64(last.count) == offset {
                    runs[runs.count - 1].count += 1
                } else {
                    runs.append(OffsetRun(partition: partition, offset: offset, count: 1))
                }
            }
        }
        return runs
    }

    func commit(_ offsets: [(partition: Int32, offset: Int64)], wait: Bool) {
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commit(offsets, wait: wait)
        } catch {
            logger.warning(
                "offset commit failed",
                metadata: ["eventbus.topic": "\(topic)", "eventbus.error": "\(error)"])
        }
    }

    /// Runs on the poll thread inside a consumer poll.
    func rebalanced(_ event: RDKafkaRebalance) {
        switch event {
        case .assigned(let partitions):
            progress.withLock { progress in
                for partition in partitions {
                    progress.partitions[partition] = PartitionProgress(
                        generation: progress.nextGeneration)
                    progress.nextGeneration += 1
                }
            }
            logger.info(
                "partitions assigned",
                metadata: [
                    "eventbus.topic": "\(topic)", "eventbus.group": "\(group)",
                    "eventbus.partitions": "\(partitions.sorted())",
                ])
            if !partitions.isEmpty { resolveAssignment(nil) }
        case .revoked(let partitions):
            revoke(Set(partitions))
        }
    }

    /// Hands `partitions` back to the group without a second member ever handling their keys at
    /// the same time as this one: their messages not yet started are withdrawn from the pool at
    /// once (held-back ones here, queued ones in the inboxes), only handlers already running are
    /// waited for (bounded by the revocation timeout), then what completed is committed and the
    /// partitions are forgotten, so late outcomes cannot move their offsets.
    private func revoke(_ partitions: Set<Int32>) {
        let held = pending.withdraw { partitions.contains($0.partition) }
        let drained = Latch()
        progress.withLock { progress in
            for partition in partitions { progress.partitions[partition]?.revoking = true }
            for message in held { progress.partitions[message.partition]?.tracker.abandon(message.offset) }
            progress.revocationDrained = drained
            progress.noteDrained()
        }
        paused.removeAll { partitions.contains($0) }
        let withdrawn = pool.withdrawRevoked()
        // While closing, the pool has already finished: nothing of these partitions still runs.
        let closing = lifecycle.withLock { $0.closeRequested }
        let clock = ContinuousClock()
        let started = clock.now
        if !closing && !drained.wait(timeout: options.revocationTimeout) {
            let running = progress.withLock { progress in
                progress.revocationDrained = nil
                return partitions.reduce(0) { $0 + (progress.partitions[$1]?.tracker.inFlight ?? 0) }
            }
            if running > 0 {
                revocationTimeouts.increment()
                logger.error(
                    "revoked partitions still have handlers running after the revocation timeout; the next owner may handle their keys while these finish",
                    metadata: [
                        "eventbus.topic": "\(topic)", "eventbus.group": "\(group)",
                        "eventbus.partitions": "\(partitions.sorted())", "eventbus.running": "\(running)",
                    ])
            }
        }
        logger.debug(
            "revoked partitions released",
            metadata: [
                "eventbus.topic": "\(topic)", "eventbus.partitions": "\(partitions.sorted())",
                "eventbus.withdrawn": "\(withdrawn)", "eventbus.waited": "\(clock.now - started)",
            ])
        commit(takeCommittable(only: partitions), wait: true)
        progress.withLock { progress in
            for partition in partitions { progress.partitions[partition] = nil }
        }
        logger.info(
            "partitions revoked",
            metadata: [
                "eventbus.topic": "\(topic)", "eventbus.group": "\(group)",
                "eventbus.partitions": "\(partitions.sorted())",
            ])
    }
}
