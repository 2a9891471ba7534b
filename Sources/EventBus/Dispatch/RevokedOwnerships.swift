/// The partition ownerships an actor has seen withdrawn: per partition, the highest delivery tag
/// of a message withdrawn from it.
///
/// Once one message of an ownership (a partition under one delivery tag) was withdrawn, every
/// later message of that ownership the actor meets is withdrawn too, whatever the moment it was
/// taken. So of each key, the messages an ownership handles are always a prefix of those it
/// delivered, and the next owner, which starts at the oldest message without an outcome, never
/// follows a later message that was already handled. Delivery tags grow with every new ownership
/// of a partition (an epoch, a generation), so a tag at or below the highest withdrawn one belongs
/// to an ownership that has ended.
struct RevokedOwnerships: Sendable {
    private var highestTag: [Int32: UInt64] = [:]

    var isEmpty: Bool { highestTag.isEmpty }

    /// Whether `message` belongs to an ownership that has ended here.
    func contains(_ message: borrowing ReceivedMessage) -> Bool {
        guard let tag = highestTag[message.partition] else { return false }
        return message.deliveryTag <= tag
    }

    /// Records that a message of `partition` delivered under `tag` was withdrawn.
    mutating func insert(partition: Int32, tag: UInt64) {
        if let known = highestTag[partition], known >= tag { return }
        highestTag[partition] = tag
    }

    /// Adds what `other` records.
    mutating func formUnion(_ other: RevokedOwnerships) {
        for (partition, tag) in other.highestTag { insert(partition: partition, tag: tag) }
    }
}
