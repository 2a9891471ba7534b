import EventBus
import EventBusNATS
import EventBusPressureKit
import Foundation

/// The backends `eventbus-pressure` can drive, by name.
enum BackendRegistry {
    static let names = ["memory", "kafka", "nats"]

    static func target(named name: String) throws -> PressureTarget {
        switch name {
        case "memory":
            return .memory()
        case "nats":
            return nats()
        default:
            throw EventBusError(.invalidArgument, "backend \(name) is not available in this build", field: "backend")
        }
    }

    /// NATS JetStream at `EVENTBUS_NATS_URL` (default `nats://127.0.0.1:4222`), on a stream of its
    /// own whose messages expire after an hour so repeated runs do not fill the disk.
    static func nats() -> PressureTarget {
        var configuration = NATSConfiguration(
            servers: [ProcessInfo.processInfo.environment["EVENTBUS_NATS_URL"] ?? "nats://127.0.0.1:4222"])
        configuration.stream.name = "EVENTBUS_PRESSURE"
        configuration.subjectPrefix = "pressure"
        configuration.stream.maxAge = .seconds(3600)
        configuration.logger.logLevel = .warning
        let settings = configuration
        return PressureTarget(
            backend: "nats",
            makeBus: { try await NATSEventBus.connect(settings) },
            topicName: { runID, index in "p\(runID)-t\(index)" }
        )
    }
}
