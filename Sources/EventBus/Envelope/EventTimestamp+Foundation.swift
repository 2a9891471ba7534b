#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension EventTimestamp {
    /// Creates a timestamp from a `Date`, for services whose domain code works in Foundation types.
    ///
    /// A `Date` is a `Double` and keeps only about a microsecond of precision for current dates; the
    /// result is the nanosecond nearest to it. Dates outside what an `Int64` of nanoseconds covers
    /// (years 1677–2262) are clamped to its ends and NaN becomes the epoch, rather than trapping.
    public init(_ date: Date) {
        let interval = date.timeIntervalSince1970
        // Check the range before converting: Int64(_:) traps on NaN, infinities and huge values.
        guard interval.isFinite else {
            self.init(nanosecondsSinceEpoch: interval.isNaN ? 0 : (interval < 0 ? .min : .max))
            return
        }
        guard interval < 9_223_372_036.854_775_807 else {
            self.init(nanosecondsSinceEpoch: .max)
            return
        }
        guard interval > -9_223_372_036.854_775_808 else {
            self.init(nanosecondsSinceEpoch: .min)
            return
        }
        let wholeSeconds = interval.rounded(.down)
        let nanoseconds = Int64(((interval - wholeSeconds) * 1_000_000_000).rounded())
        let (scaled, overflow1) = Int64(wholeSeconds).multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = scaled.addingReportingOverflow(nanoseconds)
        if overflow1 || overflow2 {
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
