/// The error scenario handlers throw on purpose; its text is looked for in dead letters' `X-Error`.
public struct InjectedFailure: Error, Sendable, CustomStringConvertible {
    /// Marks the text so a dead letter's error header can be traced back to the scenario.
    public static let marker = "conformance-injected-failure"

    /// Which message and attempt failed.
    public var detail: String

    /// Creates the error.
    public init(_ detail: String) { self.detail = detail }

    /// The marker and the detail, which is what a dead letter's `X-Error` header carries.
    public var description: String { "\(Self.marker): \(detail)" }
}
