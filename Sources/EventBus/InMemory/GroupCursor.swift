import DequeModule

/// Where one consumer group stands in one partition.
///
/// Offsets below `committed` are done. Offsets in `committed..<nextDelivery` were handed to a member;
/// `done` flags which of them have an outcome, so a rewind after a member left redelivers only the
/// ones that have none.
struct GroupCursor {
    /// The member that takes from this partition, if any.
    var owner: Int?
    /// A member waiting to own it once the current owner's in-flight messages are done.
    var pendingOwner: Int?
    var committed: Int64
    var nextDelivery: Int64
    /// Offsets below this were delivered before a rewind, so their next delivery is a redelivery.
    var redeliveredBelow: Int64
    var done: Deque<Bool> = []

    init(startingAt offset: Int64) {
        committed = offset
        nextDelivery = offset
        redeliveredBelow = offset
    }

    /// True when no delivered message is waiting for an outcome.
    var isIdle: Bool { committed >= nextDelivery }

    func isDone(_ offset: Int64) -> Bool {
        let index = Int(offset - committed)
        return index < 0 || (index < done.count && done[index])
    }

    /// Records an outcome; returns true when `committed` moved.
    mutating func markDone(_ offset: Int64) -> Bool {
        let index = Int(offset - committed)
        guard index >= 0 else { return false }
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

    /// Forgets deliveries without an outcome so they are delivered again.
    mutating func rewind() {
        redeliveredBelow = max(redeliveredBelow, nextDelivery)
        nextDelivery = committed
    }
}
