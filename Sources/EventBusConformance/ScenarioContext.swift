import EventBus
import Synchronization

/// What one running scenario owns: its buses, its unique names and its deadlines.
final class ScenarioContext: Sendable {
    let name: String
    let features: ConformanceFeatures
    private let makeBus: @Sendable () async throws -> any EventBus
    private let suffix: String
    private let buses = Mutex<[any EventBus]>([])

    init(name: String, features: ConformanceFeatures, makeBus: @escaping @Sendable () async throws -> any EventBus) {
        self.name = name
        self.features = features
        self.makeBus = makeBus
        self.suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// A new bus from the suite's factory, shut down when the scenario ends.
    func bus() async throws -> any EventBus {
        try await adopt(makeBus())
    }

    /// Registers a bus built elsewhere so it is shut down when the scenario ends.
    func adopt(_ bus: any EventBus) -> any EventBus {
        buses.withLock { $0.append(bus) }
        return bus
    }

    /// A topic name no other scenario or run uses.
    func topic(_ label: String = "main") -> String {
        "conformance-\(name)-\(label)-\(suffix)"
    }

    /// A consumer-group name no other scenario or run uses.
    func group(_ label: String = "group") -> String {
        "conformance-\(name)-\(label)-\(suffix)"
    }

    /// `seconds` stretched by the backend's timeout scale.
    func timeout(_ seconds: Double) -> Duration {
        .milliseconds(Int64(seconds * features.timeoutScale * 1000))
    }

    func shutdownAll() async {
        let all = buses.withLock { buses in
            defer { buses.removeAll() }
            return buses
        }
        for bus in all { await bus.shutdown() }
    }
}
