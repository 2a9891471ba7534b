/// One named check of a bus's behaviour, ready to run from any test framework.
public struct ConformanceScenario: Sendable {
    /// Which scenario this is.
    public let id: ConformanceScenarioID
    /// Why the backend's features rule it out; nil when it runs.
    public let skipReason: String?
    private let body: @Sendable () async throws -> ConformanceOutcome

    /// The scenario's name, as test logs show it.
    public var name: String { id.rawValue }

    init(
        id: ConformanceScenarioID, skipReason: String?,
        body: @escaping @Sendable () async throws -> ConformanceOutcome
    ) {
        self.id = id
        self.skipReason = skipReason
        self.body = body
    }

    /// Runs the scenario on fresh buses and shuts them down afterwards.
    ///
    /// Throws ``ConformanceFailure`` naming the scenario when an expectation does not hold; other
    /// errors (a bus that cannot be built, a publish that throws) pass through unchanged.
    @discardableResult
    public func run() async throws -> ConformanceOutcome {
        if let skipReason { return .skipped(reason: skipReason) }
        do {
            return try await body()
        } catch var failure as ConformanceFailure {
            failure.scenario = name
            throw failure
        }
    }
}
