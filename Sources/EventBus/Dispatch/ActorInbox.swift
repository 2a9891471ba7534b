import DequeModule
import Synchronization

/// The bounded mailbox of one pool actor.
///
/// Producers hand over whole batches and the actor takes everything queued in one swap, so a lock,
/// a wake-up and a continuation are paid per batch, not per message. A batch that fits is queued as
/// the array it came in, behind the ones already queued, so no message is copied on the way (an
/// inbox that held one batch used to copy every message of the next into its array: a retain and a
/// release of each reference a message holds, ~12 % of a Kafka poll thread's time). Capacity counts
/// messages queued and messages being handled; a producer that finds no room waits (it is never
/// dropped).
final class ActorInbox: Sendable {
    private struct State {
        /// Batches in arrival order, none of them empty.
        var queued: [[ReceivedMessage]] = []
        var occupancy = 0
        /// Messages the actor has finished since the inbox was made.
        var finished = 0
        var closed = false
        /// The ownerships ``withdraw(where:)`` took messages of, for the actor to merge at its
        /// next ``take(recycling:revision:revoked:)``.
        var revoked = RevokedOwnerships()
        var consumer: UnsafeContinuation<Void, Never>?
        var producers = WaiterList()
    }

    private let capacity: Int
    private let state = Mutex(State())
    /// Bumped by every ``withdraw(where:)``; an actor whose batch was taken at an older revision
    /// asks the pool, message by message, whether the rest of it is still wanted.
    private let revisionCounter = Atomic<Int>(0)
    private let waiterIDs = Atomic<UInt64>(0)

    /// How a wait for room ended.
    enum Put {
        case accepted
        case closed
        case cancelled
    }

    /// The number of withdrawals so far.
    var revision: Int { revisionCounter.load(ordering: .acquiring) }

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Takes as many messages from the front of `messages` as fit, leaving the rest there, and
    /// returns how many it took. When all fit, the array itself is queued and `messages` left
    /// empty, so the inbox holds the only reference to it (the actor reverses it in place).
    ///
    /// Never waits. After `close()` nothing is accepted.
    func offer(taking messages: inout [ReceivedMessage]) -> Int {
        var waking: UnsafeContinuation<Void, Never>?
        let taken = state.withLock { state -> Int in
            guard !state.closed, !messages.isEmpty else { return 0 }
            let room = capacity - state.occupancy
            guard room > 0 else { return 0 }
            let taken = min(room, messages.count)
            if taken == messages.count {
                state.queued.append(messages)
                // Under the lock, before the actor can take the batch.
                messages = []
            } else {
                state.queued.append(Array(messages[..<taken]))
                messages.removeFirst(taken)
            }
            state.occupancy += taken
            waking = state.consumer
            state.consumer = nil
            return taken
        }
        waking?.resume()
        return taken
    }

    /// Adds all of `messages`, waiting for room as often as needed.
    ///
    /// Returns `.closed` when the inbox was closed, `.cancelled` when the calling task was
    /// cancelled, before every message was accepted.
    func put(_ messages: consuming [ReceivedMessage]) async -> Put {
        _ = offer(taking: &messages)
        while !messages.isEmpty {
            let room = await waitForRoom()
            guard case .accepted = room else { return room }
            _ = offer(taking: &messages)
        }
        return .accepted
    }

    /// Waits until some room is free (`.accepted`), the inbox closed, or the task was cancelled.
    func waitForRoom() async -> Put {
        let id = waiterIDs.wrappingAdd(1, ordering: .relaxed).oldValue
        await waitUnlessCancelled(
            id: id,
            park: { continuation in
                state.withLock { state -> Bool in
                    if state.closed || state.occupancy < capacity || Task.isCancelled { return false }
                    state.producers.append(id, continuation)
                    return true
                }
            },
            unpark: { [self] id in state.withLock { $0.producers.remove(id) } })
        if state.withLock({ $0.closed }) { return .closed }
        return Task.isCancelled ? .cancelled : .accepted
    }

    /// Frees room for the `finished` messages the actor handled since its last take (waking
    /// producers that wait), then takes everything queued, handing back `buffer` (emptied) to reuse
    /// its storage; `revision` is set to the withdrawal revision the batch was taken at, and the
    /// ownerships withdrawals took messages of since the last take are added to `revoked`.
    ///
    /// Waits while the inbox is empty; returns nil once it is closed and empty (the `finished`
    /// room is freed either way).
    ///
    /// Freeing, looking and parking happen under one lock, inside the continuation's closure: an
    /// actor that finds its inbox empty after a batch (the usual case when a read spreads over the
    /// actors, one or two messages each) parks without a second round trip, and one that finds
    /// messages resumes its own continuation at once, which does not suspend the task. An empty
    /// inbox used to cost `release`, a look and a park: three locks and two async calls. The gain
    /// is small (`Docs/PerformanceLog.md`, "Session 12": within the noise on NATS, Kafka's consume
    /// ~0.08 µs a message lower).
    func take(
        releasing finished: Int, recycling buffer: consuming [[ReceivedMessage]], revision: inout Int,
        revoked: inout RevokedOwnerships
    ) async -> [[ReceivedMessage]]? {
        var spare = buffer
        spare.removeAll(keepingCapacity: true)
        var releasing = finished
        var taken: Taken = .none
        while true {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let (found, waking) = state.withLock {
                    state -> (Taken, [UnsafeContinuation<Void, Never>]) in
                    var waking: [UnsafeContinuation<Void, Never>] = []
                    if releasing > 0 {
                        state.occupancy -= releasing
                        state.finished &+= releasing
                        if !state.producers.isEmpty { waking = state.producers.removeAll() }
                    }
                    if !state.queued.isEmpty {
                        var batches: [[ReceivedMessage]] = []
                        swap(&batches, &spare)
                        swap(&state.queued, &batches)
                        // Read under the lock that withdraw(where:) bumps it under: a batch taken
                        // before a withdrawal scanned this inbox always carries an older revision.
                        let current = revisionCounter.load(ordering: .relaxed)
                        if current != revision && !state.revoked.isEmpty { revoked.formUnion(state.revoked) }
                        revision = current
                        return (.batches(batches), waking)
                    }
                    if state.closed { return (.closed, waking) }
                    state.consumer = continuation
                    return (.none, waking)
                }
                releasing = 0
                taken = found
                for producer in waking { producer.resume() }
                if case .none = found { return }
                continuation.resume()
            }
            switch taken {
            case .batches(let batches): return batches
            case .closed: return nil
            case .none: continue
            }
        }
    }

    /// What one look into the inbox found.
    private enum Taken {
        case none
        case closed
        case batches([[ReceivedMessage]])
    }

    /// Frees room for `count` messages the actor has finished, waking producers that wait.
    func release(_ count: Int) {
        let waking = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
            state.occupancy -= count
            state.finished &+= count
            return state.producers.removeAll()
        }
        for producer in waking { producer.resume() }
    }

    /// Accepts nothing more; the actor drains what is queued, then `take` returns nil.
    func close() {
        let (consumer, producers) = state.withLock { state in
            state.closed = true
            let woken = (state.consumer, state.producers.removeAll())
            state.consumer = nil
            return woken
        }
        consumer?.resume()
        for producer in producers { producer.resume() }
    }

    /// Removes the queued messages `isUnwanted` picks, keeping the others in order, and returns
    /// them; their room is freed at once.
    func withdraw(where isUnwanted: (ReceivedMessage) -> Bool) -> [ReceivedMessage] {
        let (removed, producers) = state.withLock { state in
            revisionCounter.add(1, ordering: .releasing)
            guard state.queued.contains(where: { $0.contains(where: isUnwanted) }) else {
                return ([ReceivedMessage](), [UnsafeContinuation<Void, Never>]())
            }
            var kept: [ReceivedMessage] = []
            var removed: [ReceivedMessage] = []
            for batch in state.queued {
                for message in batch {
                    if isUnwanted(message) {
                        state.revoked.insert(partition: message.partition, tag: message.deliveryTag)
                        removed.append(message)
                    } else {
                        kept.append(message)
                    }
                }
            }
            state.queued = kept.isEmpty ? [] : [kept]
            state.occupancy -= removed.count
            return (removed, state.producers.removeAll())
        }
        for producer in producers { producer.resume() }
        return removed
    }

    /// Closes and forgets what is queued, returning how many messages were discarded.
    func discardAndClose() -> Int {
        let discarded = state.withLock { state -> Int in
            let count = state.queued.reduce(0) { $0 + $1.count }
            state.queued.removeAll()
            state.occupancy -= count
            return count
        }
        close()
        return discarded
    }

    /// Messages queued or being handled.
    var occupancy: Int { state.withLock { $0.occupancy } }

    /// Messages queued or being handled, and how many the actor has finished so far.
    var progress: (occupancy: Int, finished: Int) { state.withLock { ($0.occupancy, $0.finished) } }
}
