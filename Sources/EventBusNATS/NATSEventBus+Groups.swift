import EventBus

extension NATSEventBus {
    /// Deletes the durable consumers of (`topic`, `group`): the group's reading positions (one per
    /// partition and one for the plain subject) and the one of its dead-letter reader. Returns
    /// whether any of the topic's consumers existed.
    ///
    /// Durable consumers outlive their subscriptions on purpose (a group resumes where it stopped),
    /// so a group that will never come back has to be removed. Close its subscriptions first: a
    /// member still fetching gets an error and no more messages. Subscribing with the group again
    /// afterwards starts it anew from the beginning of the stream.
    @discardableResult
    public func deleteGroup(topic: String, group: String) async throws(EventBusError) -> Bool {
        if isShutDown { throw EventBusError(.shutDown, "the NATS bus was shut down") }
        let configuration = self.configuration
        let prefix = configuration.consumer.durablePrefix
        // One consumer per partition and one for the plain subject, plus the single durable of
        // groups made before topics had partitions.
        let names =
            try NATSSubjects.laneConsumerNames(
                prefix: prefix, topic: topic, group: group, partitions: configuration.partitionsPerTopic)
            + [try NATSSubjects.durableName(prefix: prefix, topic: topic, group: group)]
        let deadLetterDurable = try NATSSubjects.deadLetterDurableName(prefix: prefix, topic: topic, group: group)
        let connection = self.connection
        return try await NativeThread.run(name: "eventbus.nats.admin") { () throws(EventBusError) -> Bool in
            var existed = false
            for name in names {
                existed = try connection.deleteConsumer(stream: configuration.stream.name, durable: name) || existed
            }
            _ = try connection.deleteConsumer(
                stream: configuration.effectiveDeadLetterStreamName, durable: deadLetterDurable)
            return existed
        }
    }
}
