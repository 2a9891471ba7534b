/// A snapshot of a bus's condition, for health endpoints and readiness probes.
public struct BusHealth: Sendable, Equatable {
    /// The overall verdict.
    public enum Status: String, Sendable, Equatable {
        /// Connected and serving.
        case healthy
        /// Serving, but something needs attention (reconnecting, a subscription behind).
        case degraded
        /// Not serving: disconnected or shut down.
        case unhealthy
    }

    /// The overall verdict.
    public var status: Status
    /// Backend-specific facts, with dotted keys such as `eventbus.subscriptions`.
    public var details: [String: String]

    /// Creates a snapshot.
    public init(status: Status, details: [String: String] = [:]) {
        self.status = status
        self.details = details
    }

    /// Adds `cause` to `details["eventbus.cause"]`, after any cause already there.
    package static func appendCause(_ cause: String, to details: inout [String: String]) {
        if let existing = details["eventbus.cause"], !existing.isEmpty {
            details["eventbus.cause"] = existing + "; " + cause
        } else {
            details["eventbus.cause"] = cause
        }
    }
}
