import EventBus
import EventBusPressureKit

/// The backends `eventbus-pressure` can drive, by name.
enum BackendRegistry {
    static let names = ["memory", "kafka", "nats"]

    static func target(named name: String) throws -> PressureTarget {
        switch name {
        case "memory":
            return .memory()
        default:
            throw EventBusError(.invalidArgument, "backend \(name) is not available in this build", field: "backend")
        }
    }
}
