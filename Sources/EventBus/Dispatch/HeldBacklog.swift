/// The messages a backend's intake fetched that its pool had no room for yet, held in arrival
/// order and offered again, oldest first, before anything that arrives later.
///
/// Owned by the one thread that feeds the pool (a poll or fetch thread); not shared.
package struct HeldBacklog {
    private var messages: [ReceivedMessage] = []

    package init() {}

    /// Whether nothing is held.
    package var isEmpty: Bool { messages.isEmpty }

    /// Messages held.
    package var count: Int { messages.count }

    /// Hands `arrivals` to `pool`, or, while older messages are held, holds them behind those
    /// (so nothing overtakes a held message); keeps what the pool did not take.
    package mutating func offer(_ arrivals: consuming [ReceivedMessage], to pool: ActorPool) {
        if messages.isEmpty {
            messages = pool.offer(arrivals)
        } else {
            messages.append(contentsOf: arrivals)
        }
    }

    /// ``offer(_:to:)`` for a poll thread that reuses its fetch buffer: `arrivals` is left empty
    /// with its capacity kept. `actors` is as in ``ActorPool/offer(draining:actors:)`` (one entry
    /// per arrival); it is not needed when the arrivals are held.
    package mutating func offer(draining arrivals: inout [ReceivedMessage], actors: [Int], to pool: ActorPool) {
        if messages.isEmpty {
            messages = pool.offer(draining: &arrivals, actors: actors)
        } else {
            messages.append(contentsOf: arrivals)
            arrivals.removeAll(keepingCapacity: true)
        }
    }

    /// Holds `arrivals` behind what is held, without offering them.
    package mutating func hold(_ arrivals: [ReceivedMessage]) {
        messages.append(contentsOf: arrivals)
    }

    /// Offers the held messages to `pool` again, oldest first, moving them rather than copying;
    /// keeps what did not fit. Returns whether the backlog is now empty.
    @discardableResult
    package mutating func retry(_ pool: ActorPool) -> Bool {
        guard !messages.isEmpty else { return true }
        var held: [ReceivedMessage] = []
        swap(&held, &messages)
        messages = pool.offer(consume held)
        return messages.isEmpty
    }

    /// Takes the held messages `isWithdrawn` picks out of the backlog (for example those of a
    /// partition this member no longer owns) and returns them, in arrival order.
    package mutating func withdraw(where isWithdrawn: (ReceivedMessage) -> Bool) -> [ReceivedMessage] {
        guard !messages.isEmpty else { return [] }
        var withdrawn: [ReceivedMessage] = []
        messages.removeAll { message in
            guard isWithdrawn(message) else { return false }
            withdrawn.append(message)
            return true
        }
        return withdrawn
    }

    /// Empties the backlog and returns what it held, in arrival order.
    package mutating func removeAll() -> [ReceivedMessage] {
        var held: [ReceivedMessage] = []
        swap(&held, &messages)
        return held
    }
}
