/// How a conformance scenario ended when it did not fail.
public enum ConformanceOutcome: Sendable, Equatable {
    /// Every expectation held; the notes carry the figures measured, for the test log.
    case passed(notes: [String])
    /// The backend's features rule the scenario out.
    case skipped(reason: String)
}
