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

    /// Partitions that have a value, ascending.
    var keys: [Int32] {
        entries.indices.compactMap { entries[$0] == nil ? nil : Int32($0) }
    }
}
