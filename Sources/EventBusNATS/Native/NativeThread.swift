import EventBus
import Foundation

/// Runs blocking nats.c calls on threads of their own, never on Swift's cooperative pool.
enum NativeThread {
    /// Starts a named thread running `body` until it returns.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }

    /// Runs one blocking call on a fresh thread and returns its result to the awaiting task.
    static func run<Value: Sendable>(
        name: String, _ body: @escaping @Sendable () throws(EventBusError) -> Value
    ) async throws(EventBusError) -> Value {
        let result: Result<Value, EventBusError> = await withUnsafeContinuation { continuation in
            start(name: name) {
                do throws(EventBusError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
