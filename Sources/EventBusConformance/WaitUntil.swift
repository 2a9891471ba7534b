/// Polls `condition` every `interval` until it holds; throws a ``ConformanceFailure`` at the deadline.
///
/// The suite waits on outcomes this way instead of sleeping for a fixed time: a fast bus finishes
/// at once, a slow one gets the whole deadline, and a failure says what it was waiting for.
public func waitUntil(
    timeout: Duration,
    interval: Duration = .milliseconds(2),
    _ what: @autoclosure () -> String,
    file: StaticString = #filePath,
    line: UInt = #line,
    condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        if ContinuousClock.now >= deadline {
            throw ConformanceFailure(
                message: "timed out after \(timeout) waiting for \(what())", file: file, line: line)
        }
        try await Task.sleep(for: interval)
    }
}

/// Runs `operation` in a task of its own and throws a ``ConformanceFailure`` if it has not returned
/// within `timeout`.
///
/// For calls that must not hang (shutdown, close): a structured task group would wait for a hung
/// child forever, so the operation runs unstructured and is left behind when it overruns.
public func finishes(
    within timeout: Duration,
    _ what: @autoclosure () -> String,
    file: StaticString = #filePath,
    line: UInt = #line,
    operation: @escaping @Sendable () async -> Void
) async throws {
    let done = Flag()
    let task = Task {
        await operation()
        done.set()
    }
    do {
        try await waitUntil(timeout: timeout, what(), file: file, line: line) { done.isSet }
    } catch {
        task.cancel()
        throw error
    }
}
