import Synchronization

/// One topic of the in-memory bus: partitioned logs plus each consumer group's cursors and members.
///
/// It behaves like a broker topic: keys map to partitions, a group's members own disjoint sets of
/// partitions, a message stays retained until every group has an outcome for it, and a partition
/// moves between members only once its current owner has no message in flight, so a key is never
/// handled by two members at once.
final class InMemoryTopic: Sendable {
    private struct Member {
        var waiter: UnsafeContinuation<TakeResult, Never>?
        var closing = false
        var rotation = 0
        /// Told when a partition it owns is promised to another member, so it withdraws that
        /// partition's queued messages instead of handling them first.
        var onRevoke: (@Sendable () -> Void)?
    }

    private struct Group {
        var cursors: [GroupCursor]
        var memberOrder: [Int] = []
        var members: [Int: Member] = [:]
    }

    private struct State {
        var partitions: [PartitionLog]
        var groups: [String: Group] = [:]
        var publishers = WaiterList()
        var nextMemberID = 0
        var roundRobin = 0
        var closed = false
    }

    let name: String
    private let capacity: Int
    private let state: Mutex<State>
    private let waiterIDs = Atomic<UInt64>(0)

    init(name: String, partitions: Int, capacity: Int) {
        self.name = name
        self.capacity = capacity
        self.state = Mutex(State(partitions: Array(repeating: PartitionLog(), count: partitions)))
    }

    // MARK: Publishing

    /// Appends messages in order, waiting while a partition is full.
    ///
    /// Throws `cancelled` when the calling task is cancelled while it waits; the messages before
    /// the one that waited are published.
    func publish(_ messages: [StoredMessage]) async throws(EventBusError) {
        var next = 0
        while true {
            next = try append(messages, from: next)
            if next == messages.count { return }
            let partitionKey = messages[next].key
            let id = waiterIDs.wrappingAdd(1, ordering: .relaxed).oldValue
            await waitUnlessCancelled(
                id: id,
                park: { continuation in
                    state.withLock { state -> Bool in
                        if state.closed || Task.isCancelled { return false }
                        let count = state.partitions.count
                        let partition = partitionKey.map { Self.keyedPartition($0, count: count) }
                        let hasRoom =
                            partition.map { state.partitions[$0].entries.count < capacity }
                            ?? state.partitions.contains { $0.entries.count < capacity }
                        if hasRoom { return false }
                        state.publishers.append(id, continuation)
                        return true
                    }
                },
                unpark: { [self] id in state.withLock { $0.publishers.remove(id) } })
            if Task.isCancelled {
                throw EventBusError(
                    .cancelled,
                    "the task was cancelled while waiting for room in topic \(name); \(next) of \(messages.count) messages were published"
                )
            }
        }
    }

    /// Appends one message if its partition has room, without waiting.
    ///
    /// Dead letters use it: a dead-letter write that waited for room could not be interrupted when
    /// its subscription closes; failing instead lets the pool retry and notice the close.
    func publishIfRoom(_ message: StoredMessage) throws(EventBusError) {
        guard try append([message], from: 0) == 1 else {
            throw EventBusError(.publishFailed, "topic \(name) is full", isRetriable: true)
        }
    }

    /// Appends messages from `next` on until one meets a full partition; returns where it stopped.
    private func append(_ messages: [StoredMessage], from next: Int) throws(EventBusError) -> Int {
        var wake: [UnsafeContinuation<TakeResult, Never>] = []
        let (reached, closed) = state.withLock { state in
            guard !state.closed else { return (next, true) }
            var touched = [Bool](repeating: false, count: state.partitions.count)
            var index = next
            while index < messages.count {
                let message = messages[index]
                let partition = Self.partition(for: message.key, count: state.partitions.count, state: &state)
                guard state.partitions[partition].entries.count < capacity else { break }
                state.partitions[partition].entries.append(message)
                touched[partition] = true
                index += 1
            }
            Self.collectWaiters(for: touched, in: &state, into: &wake)
            return (index, false)
        }
        for waiter in wake { waiter.resume(returning: .retry) }
        guard !closed else { throw EventBusError(.shutDown, "topic \(name) is closed") }
        return reached
    }

    private static func keyedPartition(_ key: String, count: Int) -> Int {
        // Mix before reducing so partitions and pool actors (plain FNV modulo) do not correlate.
        let mixed = (UInt64(KeyHash.fnv1a(key)) &* 0x9E37_79B9_7F4A_7C15) >> 32
        return Int(mixed % UInt64(count))
    }

    private static func partition(for key: String?, count: Int, state: inout State) -> Int {
        if let key { return keyedPartition(key, count: count) }
        state.roundRobin = (state.roundRobin + 1) % count
        return state.roundRobin
    }

    private static func collectWaiters(
        for touched: [Bool],
        in state: inout State,
        into wake: inout [UnsafeContinuation<TakeResult, Never>]
    ) {
        for name in state.groups.keys {
            for partition in touched.indices where touched[partition] {
                let cursor = state.groups[name]!.cursors[partition]
                guard cursor.pendingOwner == nil, let owner = cursor.owner,
                    let waiter = state.groups[name]!.members[owner]?.waiter
                else { continue }
                state.groups[name]!.members[owner]!.waiter = nil
                wake.append(waiter)
            }
        }
    }

    // MARK: Membership

    /// Adds a member to `group`, creating the group at the oldest retained message when it is new.
    func join(group name: String) -> Int {
        var wake: [UnsafeContinuation<TakeResult, Never>] = []
        var revoked: [@Sendable () -> Void] = []
        let id = state.withLock { state -> Int in
            let id = state.nextMemberID
            state.nextMemberID += 1
            if state.groups[name] == nil {
                state.groups[name] = Group(cursors: state.partitions.map { GroupCursor(startingAt: $0.baseOffset) })
            }
            state.groups[name]!.memberOrder.append(id)
            state.groups[name]!.members[id] = Member()
            revoked = Self.rebalance(&state.groups[name]!, wake: &wake)
            return id
        }
        for waiter in wake { waiter.resume(returning: .retry) }
        for member in revoked { member() }
        return id
    }

    /// Sets what a member is told when one of its partitions is promised to another member.
    func onRevoke(group name: String, member id: Int, _ handler: @escaping @Sendable () -> Void) {
        state.withLock { state in
            state.groups[name]?.members[id]?.onRevoke = handler
        }
    }

    /// Whether `message` was delivered to `member` under its current ownership of the partition,
    /// and that partition is not promised to another member.
    func isCurrent(_ message: ReceivedMessage, group name: String, member id: Int) -> Bool {
        state.withLock { state in
            guard let cursor = state.groups[name]?.cursors[Int(message.partition)] else { return false }
            return cursor.owner == id && cursor.pendingOwner == nil && cursor.epoch == message.deliveryTag
        }
    }

    /// Stops handing messages to a member; it keeps its partitions until ``leave(group:member:)``.
    func stopDelivering(group name: String, member id: Int) {
        let waiter = state.withLock { state -> UnsafeContinuation<TakeResult, Never>? in
            guard state.groups[name]?.members[id] != nil else { return nil }
            state.groups[name]!.members[id]!.closing = true
            let waiter = state.groups[name]!.members[id]!.waiter
            state.groups[name]!.members[id]!.waiter = nil
            return waiter
        }
        waiter?.resume(returning: .closed)
    }

    /// Removes a member whose handlers have all returned; what it had without an outcome is
    /// delivered again to the members that take over its partitions.
    func leave(group name: String, member id: Int) {
        var wake: [UnsafeContinuation<TakeResult, Never>] = []
        var revoked: [@Sendable () -> Void] = []
        state.withLock { state in
            guard var group = state.groups[name], let member = group.members.removeValue(forKey: id) else { return }
            if let waiter = member.waiter { wake.append(waiter) }
            group.memberOrder.removeAll { $0 == id }
            for partition in group.cursors.indices {
                if group.cursors[partition].owner == id {
                    // Its handlers have all returned: what has no outcome goes to the next owner.
                    group.cursors[partition].handOver(to: nil)
                }
                if group.cursors[partition].pendingOwner == id {
                    // The owner withdrew its queued messages for this member: the partition still
                    // changes hands (to the owner itself at least, see `rebalance`), so that a
                    // rewind delivers them again.
                    group.cursors[partition].pendingOwner = group.cursors[partition].owner
                }
            }
            revoked = Self.rebalance(&group, wake: &wake)
            state.groups[name] = group
        }
        for waiter in wake { waiter.resume(returning: .retry) }
        for member in revoked { member() }
    }

    /// Spreads partitions over members in join order; a busy partition changes hands once idle.
    /// Returns the revocation handlers of owners that must let go of a busy partition.
    private static func rebalance(_ group: inout Group, wake: inout [UnsafeContinuation<TakeResult, Never>])
        -> [@Sendable () -> Void]
    {
        var revokedOwners: Set<Int> = []
        let members = group.memberOrder
        for partition in group.cursors.indices {
            let target = members.isEmpty ? nil : members[partition % members.count]
            var cursor = group.cursors[partition]
            defer { group.cursors[partition] = cursor }
            if cursor.owner == target {
                // A handover that was pending is called off. The owner withdrew the partition's
                // messages when it was promised away, and only a rewind delivers them again: it
                // hands the partition over to itself, once idle, before it takes anything more.
                if cursor.pendingOwner != nil, let target {
                    if cursor.isIdle {
                        cursor.handOver(to: target)
                        if let waiter = group.members[target]?.waiter {
                            group.members[target]!.waiter = nil
                            wake.append(waiter)
                        }
                    } else {
                        cursor.pendingOwner = target
                    }
                }
                continue
            }
            if cursor.owner == nil || cursor.isIdle {
                cursor.handOver(to: target)
                if let target, let waiter = group.members[target]?.waiter {
                    group.members[target]!.waiter = nil
                    wake.append(waiter)
                }
            } else {
                cursor.pendingOwner = target
                if let owner = cursor.owner { revokedOwners.insert(owner) }
            }
        }
        return revokedOwners.compactMap { group.members[$0]?.onRevoke }
    }

    // MARK: Consuming

    /// Waits for up to `limit` messages from the member's partitions and puts them into `batch`
    /// (which must be empty; its storage is reused); false once the member is leaving.
    func take(group name: String, member id: Int, limit: Int, into batch: inout [ReceivedMessage]) async -> Bool {
        while true {
            let result = await withUnsafeContinuation { (continuation: UnsafeContinuation<TakeResult, Never>) in
                let immediate = state.withLock { state -> TakeResult? in
                    guard let member = state.groups[name]?.members[id], !member.closing else { return .closed }
                    collect(
                        from: &state.groups[name]!, member: id, limit: limit, partitions: state.partitions,
                        into: &batch)
                    if !batch.isEmpty { return .messages }
                    state.groups[name]!.members[id]!.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
            switch result {
            case .messages: return true
            case .closed: return false
            case .retry: continue
            }
        }
    }

    private func collect(
        from group: inout Group, member id: Int, limit: Int, partitions: [PartitionLog],
        into batch: inout [ReceivedMessage]
    ) {
        let count = group.cursors.count
        let start = group.members[id]!.rotation
        group.members[id]!.rotation = (start + 1) % count
        for step in 0..<count where batch.count < limit {
            let partition = (start + step) % count
            guard group.cursors[partition].owner == id, group.cursors[partition].pendingOwner == nil else { continue }
            var cursor = group.cursors[partition]
            let log = partitions[partition]
            while cursor.nextDelivery < log.endOffset && batch.count < limit {
                let offset = cursor.nextDelivery
                cursor.nextDelivery += 1
                if cursor.isDone(offset) { continue }
                cursor.inFlight += 1
                if batch.isEmpty { batch.reserveCapacity(limit) }
                let message = ReceivedMessage(
                    delivering: log[offset], topic: name, partition: Int32(partition), offset: offset,
                    deliveryCount: offset < cursor.redeliveredBelow ? 2 : 1, deliveryTag: cursor.epoch)
                batch.append(consume message)
            }
            group.cursors[partition] = cursor
        }
    }

    /// Records outcomes, frees retained messages every group is done with, and completes handovers.
    func acknowledge(group name: String, outcomes: [DispatchOutcome]) {
        var wakeMembers: [UnsafeContinuation<TakeResult, Never>] = []
        let wakePublishers = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
            guard state.groups[name] != nil else { return [] }
            var moved = [Bool](repeating: false, count: state.partitions.count)
            Self.apply(outcomes, to: &state.groups[name]!, moved: &moved, wake: &wakeMembers)
            var trimmed = false
            for partition in moved.indices where moved[partition] {
                var lowest = Int64.max
                for other in state.groups.values { lowest = min(lowest, other.cursors[partition].committed) }
                if state.partitions[partition].trim(below: lowest) { trimmed = true }
            }
            guard trimmed, !state.publishers.isEmpty else { return [] }
            let waiting = state.publishers.removeAll()
            return waiting
        }
        for waiter in wakeMembers { waiter.resume(returning: .retry) }
        for publisher in wakePublishers { publisher.resume() }
    }

    /// Applies `outcomes` to `group`'s cursors in place (a copy of the group would copy its
    /// cursors and every mutated cursor's `done` flags), completes handovers that waited for them,
    /// and flags in `moved` the partitions whose committed offset moved.
    private static func apply(
        _ outcomes: [DispatchOutcome], to group: inout Group, moved: inout [Bool],
        wake: inout [UnsafeContinuation<TakeResult, Never>]
    ) {
        var touched = [Bool](repeating: false, count: group.cursors.count)
        for outcome in outcomes {
            let partition = Int(outcome.partition)
            // Outcomes of an ownership that ended (the member left) were accounted for then.
            guard group.cursors[partition].epoch == outcome.deliveryTag else { continue }
            touched[partition] = true
            if outcome.result == .withdrawn {
                group.cursors[partition].markWithdrawn()
            } else if group.cursors[partition].markDone(outcome.offset) {
                moved[partition] = true
            }
        }
        for partition in touched.indices where touched[partition] {
            guard let next = group.cursors[partition].pendingOwner, group.cursors[partition].isIdle else { continue }
            group.cursors[partition].handOver(to: next)
            if let waiter = group.members[next]?.waiter {
                group.members[next]!.waiter = nil
                wake.append(waiter)
            }
        }
    }

    // MARK: Lifecycle

    /// True when every group with members has an outcome for every retained message.
    var isDrained: Bool {
        state.withLock { state in
            for group in state.groups.values where !group.members.isEmpty {
                for (partition, cursor) in group.cursors.enumerated()
                where cursor.committed < state.partitions[partition].endOffset {
                    return false
                }
            }
            return true
        }
    }

    /// Refuses further publishes and wakes publishers waiting for room.
    func close() {
        let publishers = state.withLock { state -> [UnsafeContinuation<Void, Never>] in
            state.closed = true
            let waiting = state.publishers.removeAll()
            return waiting
        }
        for publisher in publishers { publisher.resume() }
    }

    /// Per partition, retained messages `group` has no outcome for (end offset minus the group's
    /// committed offset); a group that never joined would start at the oldest retained message, so
    /// it lags by every retained one.
    func lag(group name: String) -> [ConsumerLag.Partition] {
        state.withLock { state in
            state.partitions.enumerated().map { partition, log in
                let committed = state.groups[name]?.cursors[partition].committed ?? log.baseOffset
                return ConsumerLag.Partition(partition: Int32(partition), lag: log.endOffset - committed)
            }
        }
    }

    /// Retained messages and members, for health reports.
    var statistics: (retained: Int, members: Int) {
        state.withLock { state in
            (
                state.partitions.reduce(0) { $0 + $1.entries.count },
                state.groups.values.reduce(0) { $0 + $1.members.count }
            )
        }
    }
}
