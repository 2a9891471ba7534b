/// Per-partition values indexed by partition number: partitions are small dense integers, so an
/// array beats a hash table on the per-message path (no hashing, in-place mutation).
struct PartitionTable<Value> {
    private var entries: [Value?] = []

    /// The value of `partition`, if it has one; setting nil removes it.
    subscript(partition: Int32) -> Value? {
        get {
            let index = Int(partition)
            return index >= 0 && index < entries.count ? entries[index] : nil
        }
        _modify {
            let index = Int(partition)
            if index >= entries.count {
                entries.append(contentsOf: repeatElement(nil, count: index - entries.count + 1))
            }
            yield &entries[index]
        }
    }

    /// Runs `body` on the value of `partition` in place and returns its result; nil (and `body` is
    /// not called) when the partition has none. Unlike reading through the subscript first, this
    /// copies nothing, so the per-message paths pay no retain and release of what the value holds.
    mutating func update<Result>(_ partition: Int32, _ body: (inout Value) -> Result) -> Result? {
        let index = Int(partition)
        guard index >= 0 && index < entries.count && entries[index] != nil else { return nil }
        return body(&entries[index]!)
    }

    /// Partitions that have a value, ascending.
    var keys: [Int32] {
        entries.indices.compactMap { entries[$0] == nil ? nil : Int32($0) }
    }
}
