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

    /// Starts `work` on a new detached thread.
    static func start(_ work: @escaping @Sendable () -> Void) {
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
            // Could not get a thread: run inline rather than lose the work.
            Unmanaged<Body>.fromOpaque(body).takeRetainedValue().work()
            return
        }
        #if canImport(Glibc)
            pthread_detach(thread)
        #else
            if let thread { pthread_detach(thread) }
        #endif
    }

    /// Runs blocking `work` on a new thread and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withUnsafeContinuation { continuation in
            start { continuation.resume(returning: work()) }
        }
    }
}
