/// One member of a consumer group on the in-memory bus, with its own actor pool.
final class InMemorySubscription: Subscription, SubscriptionIntake {
    let topic: String
    let group: String
    private let source: InMemoryTopic
    private let memberID: Int
    private let runtime: SubscriptionRuntime
    private let credit: DeliveryCredit
    private let batchSize: Int

    init(
        source: InMemoryTopic,
        group: String,
        handler: @escaping MessageHandler,
        keylessRouting: ActorPool.KeylessRouting = .rotate,
        broker: InMemoryBroker
    ) throws(EventBusError) {
        let configuration = broker.configuration
        let credit = DeliveryCredit(limit: configuration.maxInFlightPerSubscription)
        let memberID = source.join(group: group)
        self.topic = source.name
        self.group = group
        self.source = source
        self.memberID = memberID
        self.credit = credit
        self.batchSize = configuration.deliveryBatchSize
        let deadLetterTopic = source.name + configuration.deadLetterSuffix
        let poolConfiguration = configuration.pool.labelled(topic: source.name, group: group)
        let pool: ActorPool
        do {
            pool = try ActorPool(
                configuration: poolConfiguration,
                makeHandler: { handler },
                deadLetterSink: { letter in
                    try broker.publishDeadLetter(letter.outgoingMessage(topic: deadLetterTopic))
                },
                onOutcomes: { [source] outcomes in
                    source.acknowledge(group: group, outcomes: outcomes)
                    credit.release(outcomes.count)
                },
                isCurrent: { [source] message in source.isCurrent(message, group: group, member: memberID) },
                keylessRouting: keylessRouting
            )
        } catch {
            source.leave(group: group, member: memberID)
            throw error
        }
        self.runtime = SubscriptionRuntime(pool: pool)
        source.onRevoke(group: group, member: memberID) { [pool] in pool.withdrawRevoked() }
    }

    /// Starts the pool and the delivery loop; returns once the pool's actors are running.
    func start() async {
        let source = self.source
        let group = self.group
        await runtime.start(
            intake: self, feed: { await self.deliver() },
            lag: { ConsumerLag(topic: source.name, group: group, partitions: source.lag(group: group)) })
    }

    /// The subscription's metrics; nil when they are off.
    var metrics: SubscriptionMetrics? { runtime.pool.metrics }

    private func deliver() async {
        // One buffer for every batch: a batch of thousands of messages is hundreds of kilobytes,
        // which allocated afresh each time was also faulted in afresh (perf: page faults ~5 %).
        var batch: [ReceivedMessage] = []
        while true {
            let granted = await credit.acquire(upTo: batchSize)
            guard granted > 0 else { return }
            guard await source.take(group: group, member: memberID, limit: granted, into: &batch) else { return }
            credit.release(granted - batch.count)
            do {
                try await runtime.pool.submit(draining: &batch)
            } catch {
                return
            }
        }
    }

    func close() async {
        await runtime.close()
    }

    /// Ends the delivery loop: no more messages are taken from the topic.
    func stopIntake() {
        source.stopDelivering(group: group, member: memberID)
        credit.close()
    }

    /// Leaves the group once every handler returned: what had no outcome goes to the next owners.
    func release() async {
        source.leave(group: group, member: memberID)
    }

    /// Why the subscription is stalled, for health; nil while it makes progress.
    var stallDescription: String? { runtime.stallDescription() }
}
