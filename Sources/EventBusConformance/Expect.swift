/// Throws a ``ConformanceFailure`` with `message` unless `condition` holds.
func expect(
    _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #filePath,
    line: UInt = #line
) throws(ConformanceFailure) {
    if !condition {
        throw ConformanceFailure(message: message(), file: file, line: line)
    }
}

/// A ``ConformanceFailure`` with `message`, for `throw fail(...)`.
func fail(_ message: String, file: StaticString = #filePath, line: UInt = #line) -> ConformanceFailure {
    ConformanceFailure(message: message, file: file, line: line)
}
