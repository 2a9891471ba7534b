extension EventBus {
    /// Throws ``EventBusError/Code/unsupported``: this bus does not implement provisioning.
    public func provision(topics: [String]) async throws(EventBusError) {
        throw EventBusError(
            .unsupported, "\(type(of: self)) cannot provision topics ahead of time", field: "topics")
    }
}
