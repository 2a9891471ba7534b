import ServiceLifecycle

extension KafkaEventBus: Service {
    /// Keeps the bus up until graceful shutdown, then closes subscriptions (committing what was
    /// handled) and flushes the producer.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
