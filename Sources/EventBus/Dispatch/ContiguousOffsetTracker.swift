import DequeModule

/// Tracks one partition's received offsets and says which offset is safe to commit.
///
/// The actor pool finishes messages of different aggregates out of order, but a Kafka commit means
/// "everything before this offset is done". So the commit position may only move past the longest
/// run of completed messages from the oldest one still tracked: a finished message behind an
/// unfinished one waits. Offsets are compared in the order they were received, not as integers,
/// because a partition's offsets may have gaps (compaction, transaction markers).
///
/// Kafka commits and NATS JetStream acks (with the `all` ack policy) both follow this rule.
package struct ContiguousOffsetTracker: Sendable {
    private struct Entry {
        var offset: Int64
        var done: Bool
        var abandoned = false
    }

    private var entries: Deque<Entry> = []
    private var pendingCount = 0
    /// The offset after the last message of the completed run, or nil before anything completed.
    package private(set) var commitOffset: Int64?

    /// Creates an empty tracker.
    package init() {}

    /// Messages tracked but not yet completed.
    package var inFlight: Int { pendingCount }

    /// Whether nothing is in flight.
    package var isDrained: Bool { pendingCount == 0 }

    /// Records a received message; returns false (and ignores it) unless `offset` is above every
    /// offset tracked so far, because a commit position cannot move backwards.
    @discardableResult
    package mutating func track(_ offset: Int64) -> Bool {
        if let last = entries.last, offset <= last.offset { return false }
        if entries.isEmpty, let commitOffset, offset < commitOffset { return false }
        entries.append(Entry(offset: offset, done: false))
        pendingCount += 1
        return true
    }

    /// Marks a tracked message done; returns whether the commit offset advanced.
    ///
    /// Unknown or already completed offsets are ignored (an outcome may arrive twice).
    @discardableResult
    package mutating func complete(_ offset: Int64) -> Bool {
        guard let index = index(of: offset), !entries[index].done else { return false }
        entries[index].done = true
        if entries[index].abandoned {
            entries[index].abandoned = false
        } else {
            pendingCount -= 1
        }
        guard index == 0 else { return false }
        var last = entries[0].offset
        while let first = entries.first, first.done {
            last = first.offset
            entries.removeFirst()
        }
        commitOffset = last + 1
        return true
    }

    /// Marks a tracked message as given up without being handled (withdrawn on revocation): it no
    /// longer counts as in flight, but the commit offset never moves past it.
    ///
    /// Unknown or already settled offsets are ignored.
    package mutating func abandon(_ offset: Int64) {
        guard let index = index(of: offset), !entries[index].done, !entries[index].abandoned else { return }
        entries[index].abandoned = true
        pendingCount -= 1
    }

    private func index(of offset: Int64) -> Int? {
        guard let first = entries.first?.offset, offset >= first else { return nil }
        // Fast path: without gaps, an offset's index is its distance from the first.
        let guess = offset - first
        if guess < entries.count, entries[Int(guess)].offset == offset { return Int(guess) }
        var low = 0
        var high = entries.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let value = entries[middle].offset
            if value == offset { return middle }
            if value < offset { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }
}
