import Synchronization

/// One member of a consumer group on the in-memory bus, with its own actor pool.
final class InMemorySubscription: Subscription {
    let topic: String
    let group: String
    private let source: InMemoryTopic
    private let memberID: Int
    private let pool: ActorPool
    private let credit: DeliveryCredit
    private let batchSize: Int
    private let worker = Mutex<Task<Void, Never>?>(nil)
    private let closing = Atomic<Bool>(false)

    init(
        source: InMemoryTopic,
        group: String,
        handler: @escaping MessageHandler,
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
        var poolConfiguration = configuration.pool
        poolConfiguration.metricsDimensions += [("topic", source.name), ("group", group)]
        do {
            self.pool = try ActorPool(
                configuration: poolConfiguration,
                makeHandler: { handler },
                deadLetterSink: { letter in
                    try broker.publishDeadLetter(letter.outgoingMessage(topic: deadLetterTopic))
                },
                onOutcomes: { [source] outcomes in
                    source.acknowledge(group: group, outcomes: outcomes)
                    credit.release(outcomes.count)
                },
                isCurrent: { [source] message in source.isCurrent(message, group: group, member: memberID) }
            )
        } catch {
            source.leave(group: group, member: memberID)
            throw error
        }
        source.onRevoke(group: group, member: memberID) { [pool] in pool.withdrawRevoked() }
    }

    /// Starts the pool and the delivery loop; returns once the pool's actors are running.
    func start() async {
        let task = Task { [pool] in
            await withDiscardingTaskGroup { group in
                group.addTask { await pool.run() }
                group.addTask { await self.deliver() }
            }
        }
        worker.withLock { $0 = task }
        await pool.waitUntilRunning()
    }

    private func deliver() async {
        while true {
            let granted = await credit.acquire(upTo: batchSize)
            guard granted > 0 else { return }
            guard let batch = await source.take(group: group, member: memberID, limit: granted) else { return }
            credit.release(granted - batch.count)
            do {
                try await pool.submit(batch)
            } catch {
                return
            }
        }
    }

    func close() async {
        if pool.isCallingFromHandler {
            // Waiting here would wait for this very handler: finish closing once it has returned.
            Task.detached { await self.close() }
            return
        }
        if closing.exchange(true, ordering: .acquiringAndReleasing) {
            await worker.withLock { $0 }?.value
            return
        }
        source.stopDelivering(group: group, member: memberID)
        credit.close()
        pool.stop()
        await worker.withLock { $0 }?.value
        source.leave(group: group, member: memberID)
    }
}
