import EventBus
import EventBusPressureKit

/// The backends `eventbus-pressure` can drive, by name.
enum BackendRegistry {
    static let names = ["memory", "kafka", "nats"]

    static func target(named name: String) throws -> PressureTarget {
        switch name {
        case "memory": return .memory()
        case "kafka": return try .kafka()
        case "nats": return .nats()
        default:
            throw EventBusError(
                .invalidArgument, "unknown backend \(name); use memory, kafka, nats or all", field: "backend")
        }
    }
}
