import EventBus
import Synchronization
import XCTest

/// Polls `condition` until it holds or `timeout` passes; fails the test on timeout.
func waitUntil(
    timeout: Duration = .seconds(10),
    _ description: String,
    file: StaticString = #filePath,
    line: UInt = #line,
    condition: () -> Bool
) async {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while !condition() {
        if clock.now >= deadline {
            XCTFail("timed out waiting until \(description)", file: file, line: line)
            return
        }
        try? await Task.sleep(for: .milliseconds(1))
    }
}

/// A thread-safe box for test observations.
final class Recorder<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
    var value: Value { storage.withLock { $0 } }
}

/// An error a test handler throws on purpose.
struct InjectedFailure: Error, CustomStringConvertible {
    let description: String
}

func message(_ topic: String = "t", key: String?, _ text: String, offset: Int64 = 0) -> ReceivedMessage {
    ReceivedMessage(topic: topic, key: key, payload: Array(text.utf8), offset: offset)
}
