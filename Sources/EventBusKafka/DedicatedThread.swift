import EventBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs blocking work (librdkafka polls, flushes, admin calls) on an OS thread of its own, so it never
/// occupies one of the few threads of Swift's cooperative pool.
enum DedicatedThread {
    private final class Body {
        let work: @Sendable () -> Void
        init(_ work: @escaping @Sendable () -> Void) { self.work = work }
    }

    /// Starts `work` on a new detached thread; throws `nativeError` (retriable) when the system
    /// gives no thread. Never runs `work` on the caller's thread: a poll loop there would hold a
    /// thread of Swift's cooperative pool forever.
    static func start(_ work: @escaping @Sendable () -> Void) throws(EventBusError) {
        let body = Unmanaged.passRetained(Body(work)).toOpaque()
        #if canImport(Glibc)
            var thread = pthread_t()
        #else
            var thread: pthread_t?
        #endif
        let result = pthread_create(
            &thread, nil,
            { argument in
                let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
                body.work()
                return nil
            }, body)
        if result != 0 {
            Unmanaged<Body>.fromOpaque(body).release()
            throw EventBusError(
                .nativeError, "could not start a thread for librdkafka (pthread_create returned \(result))",
                isRetriable: true)
        }
        #if canImport(Glibc)
            pthread_detach(thread)
        #else
            if let thread { pthread_detach(thread) }
        #endif
    }

    /// Blocks the calling thread for `milliseconds`; only for work already running on a dedicated
    /// thread (a bounded wait for the cluster's metadata to catch up, which nothing signals).
    static func pause(milliseconds: Int) {
        usleep(useconds_t(max(0, milliseconds)) * 1000)
    }

    /// Runs blocking `work` on a new thread and returns its result; throws like ``start(_:)``.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws(EventBusError) -> T {
        let result: Result<T, EventBusError> = await withUnsafeContinuation { continuation in
            do throws(EventBusError) {
                try start { continuation.resume(returning: .success(work())) }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }
}
