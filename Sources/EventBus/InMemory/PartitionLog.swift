import DequeModule

/// The messages one topic partition retains, addressed by offset.
struct PartitionLog {
    var entries: Deque<StoredMessage> = []
    /// The offset of `entries.first`.
    var baseOffset: Int64 = 0

    /// The offset the next appended message gets.
    var endOffset: Int64 { baseOffset + Int64(entries.count) }

    subscript(offset: Int64) -> StoredMessage { entries[Int(offset - baseOffset)] }

    /// Drops messages below `offset`; returns true when any were dropped.
    mutating func trim(below offset: Int64) -> Bool {
        let count = min(Int(offset - baseOffset), entries.count)
        guard count > 0 else { return false }
        entries.removeFirst(count)
        baseOffset += Int64(count)
        return true
    }
}
