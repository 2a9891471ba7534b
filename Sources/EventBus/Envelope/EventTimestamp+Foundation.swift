#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension EventTimestamp {
    /// Creates a timestamp from a `Date`, for services whose domain code works in Foundation types.
    ///
    /// `Date` holds about microsecond precision today, so the result is rounded to the nearest
    /// microsecond's worth of nanoseconds `Date` can express. Dates outside the range an `Int64` of
    /// nanoseconds covers (years 1677–2262) are clamped to its ends rather than trapping.
    public init(_ date: Date) {
        let interval = date.timeIntervalSince1970
        let wholeSeconds = interval.rounded(.down)
        let seconds = Int64(exactly: wholeSeconds) ?? (interval < 0 ? Int64.min : Int64.max)
        let nanoseconds = Int64(((interval - wholeSeconds) * 1_000_000_000).rounded())
        let (scaled, overflow1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = scaled.addingReportingOverflow(nanoseconds)
        if interval.isNaN {
            self.init(nanosecondsSinceEpoch: 0)
        } else if overflow1 || overflow2 {
            self.init(nanosecondsSinceEpoch: interval < 0 ? .min : .max)
        } else {
            self.init(nanosecondsSinceEpoch: total)
        }
    }

    /// The instant as a `Date`, for APIs that take Foundation types; sub-microsecond digits may be lost.
    public var date: Date {
        var seconds = nanosecondsSinceEpoch / 1_000_000_000
        var nanoseconds = nanosecondsSinceEpoch % 1_000_000_000
        if nanoseconds < 0 {
            seconds -= 1
            nanoseconds += 1_000_000_000
        }
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1_000_000_000)
    }
}
