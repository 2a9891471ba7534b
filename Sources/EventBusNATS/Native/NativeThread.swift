import EventBus
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs blocking nats.c calls on threads of their own, never on Swift's cooperative pool.
enum NativeThread {
    /// Starts a named thread running `body` until it returns.
    ///
    /// Linux keeps at most 15 bytes of a thread's name and refuses a longer one outright (`ERANGE`),
    /// so Foundation's `Thread.name` alone left every one of these threads named after the thread
    /// that started it (`…default-qos`) in `top -H`, `perf` and `/proc`. The kernel gets the name
    /// without its `eventbus.` prefix, cut to 15 bytes (`nats.publish`, `nats.member.p1`). Threads nats.c
    /// starts inherit the name of the thread that started them: its reader, flusher and timer threads show
    /// as `nats.connect`, the thread that delivers PubAcks as `nats.publish`.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            setKernelName(name)
            body()
        }
        thread.name = name
        thread.start()
    }

    /// Names the calling thread for the kernel: `name` without a leading `eventbus.`, at most 15
    /// bytes. Written to `/proc/thread-self/comm`: Swift sees neither `pthread_setname_np` (a GNU
    /// extension) nor the variadic `prctl`.
    private static func setKernelName(_ name: String) {
        #if os(Linux)
            let short = name.hasPrefix("eventbus.") ? name.dropFirst("eventbus.".count) : Substring(name)
            let bytes = Array(short.utf8.prefix(15))
            let descriptor = open("/proc/thread-self/comm", O_WRONLY)
            guard descriptor >= 0 else { return }
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        #endif
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
