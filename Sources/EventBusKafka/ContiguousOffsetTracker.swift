import DequeModule

/// Tracks one partition's received offsets and says which offset is safe to commit.
///
/// The actor pool finishes messages of different aggregates out of order, but a Kafka commit means
/// "everything before this offset is done". So the commit position may only move past the longest
/// run of completed messages from the oldest one still tracked: a finished message behind an
/// unfinished one waits. Offsets are compared in the order they were received, not as integers,
/// because a partition's offsets may have gaps (compaction, transaction markers).
///
/// Public so the rule has unit tests of its own; it has no Kafka dependency.
public struct ContiguousOffsetTracker: Sendable {
    private var offsets: Deque<Int64> = []
    private var completed: Deque<Bool> = []
    private var pendingCount = 0
    /// The offset after the last message of the completed run, or nil before anything completed.
    public private(set) var commitOffset: Int64?

    /// Creates an empty tracker.
    public init() {}

    /// Messages tracked but not yet completed.
    public var inFlight: Int { pendingCount }

    /// Whether nothing is in flight.
    public var isDrained: Bool { pendingCount == 0 }

    /// Records a received message; returns false (and ignores it) unless `offset` is above every
    /// offset tracked so far, because a commit position cannot move backwards.
    @discardableResult
    public mutating func track(_ offset: Int64) -> Bool {
        if let last = offsets.last, offset <= last { return false }
        if offsets.isEmpty, let commitOffset, offset < commitOffset { return false }
        offsets.append(offset)
        completed.append(false)
        pendingCount += 1
        return true
    }

    /// Marks a tracked message done; returns whether the commit offset advanced.
    ///
    /// Unknown or already completed offsets are ignored (an outcome may arrive twice).
    @discardableResult
    public mutating func complete(_ offset: Int64) -> Bool {
        guard let index = index(of: offset), !completed[index] else { return false }
        completed[index] = true
        pendingCount -= 1
        guard index == 0 else { return false }
        var last = offsets[0]
        while let first = completed.first, first {
            last = offsets.removeFirst()
            completed.removeFirst()
        }
        commitOffset = last + 1
        return true
    }

    private func index(of offset: Int64) -> Int? {
        var low = 0
        var high = offsets.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let value = offsets[middle]
            if value == offset { return middle }
            if value < offset { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }
}
