import EventBus
import Synchronization

/// What one running scenario owns: its buses, its unique names and its deadlines.
final class ScenarioContext: Sendable {
    let name: String
    let features: ConformanceFeatures
    private let makeBus: @Sendable () async throws -> any EventBus
    /// Builds buses with chosen observability settings, when the backend gave a factory.
    let observed: ObservedBusFactory?
    private let suffix: String
    private let buses = Mutex<[any EventBus]>([])

    init(
        name: String, features: ConformanceFeatures, makeBus: @escaping @Sendable () async throws -> any EventBus,
        observed: ObservedBusFactory? = nil
    ) {
        self.name = name
        self.features = features
        self.makeBus = makeBus
        self.observed = observed
        self.suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// A new bus from the suite's factory, shut down when the scenario ends.
    func bus() async throws -> any EventBus {
        try await adopt(makeBus())
    }

    /// A new bus from the observed-bus factory with `options`, shut down when the scenario ends.
    func observedBus(_ options: ObservedBusFactory.Options) async throws -> any EventBus {
        guard let observed else { throw ConformanceFailure(message: "no observed-bus factory given") }
        return try await adopt(observed.makeBus(options))
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

    /// Shuts `bus` down, failing when that does not return in time (a hung shutdown would otherwise
    /// hang the test run).
    func shutDown(_ bus: any EventBus, file: StaticString = #filePath, line: UInt = #line) async throws {
        try await finishes(within: timeout(10), "shutdown() to return", file: file, line: line) {
            await bus.shutdown()
        }
    }

    /// Shuts down every bus of the scenario, giving each a bounded time; returns a failure for the
    /// first that did not return, which is left behind.
    func shutdownAll() async -> ConformanceFailure? {
        let all = buses.withLock { buses in
            defer { buses.removeAll() }
            return buses
        }
        var hung: ConformanceFailure?
        for bus in all {
            do {
                try await finishes(within: timeout(5), "shutdown() at the end of the scenario") {
                    await bus.shutdown()
                }
            } catch let failure as ConformanceFailure {
                hung = hung ?? failure
            } catch {}
        }
        return hung
    }
}
