import ServiceLifecycle

extension InMemoryEventBus: Service {
    /// Keeps the bus up until graceful shutdown, then drains it.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
