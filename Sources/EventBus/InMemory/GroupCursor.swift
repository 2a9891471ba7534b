import DequeModule

/// Where one consumer group stands in one partition.
///
/// Offsets below `committed` are done. Offsets in `committed..<nextDelivery` were handed to the
/// owner; `done` flags which of them have been handled or dead-lettered, and `inFlight` counts those
/// still waiting for an outcome. A handover rewinds to `committed`, so the next owner starts at the
/// oldest message without an outcome and redelivers only the ones that have none.
struct GroupCursor {
    /// The member that takes from this partition, if any.
    var owner: Int?
    /// A member waiting to own it once the current owner has no message in flight; the owner
    /// itself when a handover was called off after the owner had withdrawn messages for it.
    var pendingOwner: Int?
    /// Bumped at every change of owner; messages carry it as their delivery tag, so a member can
    /// tell a message of its current ownership from one of an ownership it lost.
    var epoch: UInt64 = 0
    var committed: Int64
    var nextDelivery: Int64
    /// Offsets below this were delivered before a rewind, so their next delivery is a redelivery.
    var redeliveredBelow: Int64
    /// Delivered messages without an outcome yet.
    var inFlight = 0
    var done: Deque<Bool> = []

    init(startingAt offset: Int64) {
        committed = offset
        nextDelivery = offset
        redeliveredBelow = offset
    }

    /// True when no delivered message is waiting for an outcome.
    var isIdle: Bool { inFlight == 0 }

    func isDone(_ offset: Int64) -> Bool {
        let index = Int(offset - committed)
        return index < 0 || (index < done.count && done[index])
    }

    /// Records that a delivered message was handled or dead-lettered; returns true when
    /// `committed` moved.
    mutating func markDone(_ offset: Int64) -> Bool {
        let index = Int(offset - committed)
        guard index >= 0 else { return false }
        inFlight -= 1
        while done.count <= index { done.append(false) }
        done[index] = true
        var moved = false
        while let first = done.first, first {
            done.removeFirst()
            committed += 1
            moved = true
        }
        if nextDelivery < committed { nextDelivery = committed }
        return moved
    }

    /// Records that a delivered message was given back unhandled (withdrawn on revocation).
    mutating func markWithdrawn() {
        inFlight -= 1
    }

    /// Gives the partition to `member`: the new owner starts at the oldest message without an outcome.
    mutating func handOver(to member: Int?) {
        owner = member
        pendingOwner = nil
        epoch &+= 1
        inFlight = 0
        rewind()
    }

    /// Forgets deliveries without an outcome so they are delivered again.
    mutating func rewind() {
        redeliveredBelow = max(redeliveredBelow, nextDelivery)
        nextDelivery = committed
    }
}
