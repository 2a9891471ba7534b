#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A wall-clock instant with nanosecond precision, as Go's `time.Time` keeps it.
///
/// `Date` holds a `Double`, which cannot carry nanoseconds since 1970 exactly; events that
/// round-trip through other languages must keep the instant they were given.
public struct EventTimestamp: Sendable, Hashable, Comparable {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanosecondsSinceEpoch: Int64

    /// Creates a timestamp from nanoseconds since the Unix epoch.
    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    /// The current wall-clock time.
    public static func now() -> EventTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        // Wrapping arithmetic: a clock past 2262 must not crash the process (Go's UnixNano wraps too).
        return EventTimestamp(
            nanosecondsSinceEpoch: Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec))
    }

    /// Orders timestamps chronologically, so events can be sorted and compared by time.
    public static func < (lhs: EventTimestamp, rhs: EventTimestamp) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }
}
