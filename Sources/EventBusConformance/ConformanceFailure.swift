/// An expectation of a conformance scenario that did not hold.
///
/// Carries the place in the suite that checked it, so a test framework can point its failure there,
/// and a message that says what was seen against what was expected.
public struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    /// The scenario that failed, filled in by ``ConformanceScenario/run()``.
    public var scenario: String
    /// What was expected and what was seen.
    public var message: String
    /// The suite source file that checked it.
    public var file: StaticString
    /// The line in ``file``.
    public var line: UInt

    /// Creates a failure.
    public init(
        scenario: String = "", message: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        self.scenario = scenario
        self.message = message
        self.file = file
        self.line = line
    }

    /// The scenario's name and the message, as a test log shows it.
    public var description: String {
        scenario.isEmpty ? message : "[\(scenario)] \(message)"
    }
}
