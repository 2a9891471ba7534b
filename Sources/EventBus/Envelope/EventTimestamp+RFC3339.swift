extension EventTimestamp {
    /// The timestamp as RFC 3339 text in UTC, exactly as Go's `time.RFC3339Nano` prints it.
    ///
    /// Go services compare and log these strings; matching the format byte for byte (trailing
    /// fractional zeros trimmed, `Z` suffix) keeps logs and golden files identical across languages.
    public var rfc3339: String {
        String(unsafeUninitializedCapacity: Self.maximumRFC3339Length) { buffer in
            writeRFC3339(into: buffer, at: 0)
        }
    }

    /// Parses RFC 3339 text (`2006-01-02T15:04:05.999999999Z` or with a `±HH:MM` offset) as Go's
    /// `time.Parse(time.RFC3339, …)` and `time.Time.UnmarshalJSON` accept it.
    ///
    /// The fraction of a second is optional; when present it has at least one digit and any number
    /// of them, as RFC 3339 §5.6 (`time-secfrac = "." 1*DIGIT`) allows. Digits past the ninth are
    /// dropped, truncating (never rounding) to the nanosecond, exactly as Go's time package does
    /// (`parseNanoseconds` in `src/time/format.go` keeps the first nine): `…:00.1234567891Z` is
    /// `…:00.123456789Z`. Since the written fraction is cut, the result is the last nanosecond not after
    /// the written instant, before 1970 as well.
    ///
    /// Throws `malformedEnvelope` (field `timestamp`) for text that is not RFC 3339 or names an
    /// instant outside the range of ``nanosecondsSinceEpoch`` (years 1677–2262).
    public init(rfc3339 text: String) throws(EventBusError) {
        var copy = text
        let result = copy.withUTF8 { bytes -> Result<EventTimestamp, EventBusError> in
            do throws(EventBusError) {
                return .success(try EventTimestamp.parseRFC3339(bytes, baseOffset: 0))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    /// The longest text ``writeRFC3339(into:at:)`` produces: `2006-01-02T15:04:05.999999999Z`.
    static let maximumRFC3339Length = 30

    /// How many bytes ``writeRFC3339(into:at:)`` writes for this timestamp.
    var rfc3339Length: Int {
        var nanos = Self.split(nanosecondsSinceEpoch).nanos
        guard nanos != 0 else { return 20 }
        var digits = 9
        while nanos % 10 == 0 {
            nanos /= 10
            digits -= 1
        }
        return 21 + digits
    }

    /// Seconds and non-negative nanoseconds, with floor division so instants before 1970 work.
    private static func split(_ value: Int64) -> (seconds: Int64, nanos: Int64) {
        var seconds = value / 1_000_000_000
        var nanos = value % 1_000_000_000
        if nanos < 0 {
            seconds -= 1
            nanos += 1_000_000_000
        }
        return (seconds, nanos)
    }

    /// Writes the RFC 3339 form at `start`; returns how many bytes were written (at most 30).
    func writeRFC3339(into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        let (seconds, nanos) = Self.split(nanosecondsSinceEpoch)
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            days -= 1
            secondOfDay += 86_400
        }
        let (year, month, day) = Self.civil(fromDays: days)
        var index = start
        @inline(__always) func put(_ value: Int64, digits: Int) {
            var remaining = value
            var position = index + digits - 1
            while position >= index {
                buffer[position] = UInt8(truncatingIfNeeded: remaining % 10) &+ UInt8(ascii: "0")
                remaining /= 10
                position -= 1
            }
            index += digits
        }
        @inline(__always) func put(_ byte: UInt8) {
            buffer[index] = byte
            index += 1
        }
        // Int64 nanoseconds span years 1677–2262, always four digits.
        put(year, digits: 4)
        put(UInt8(ascii: "-"))
        put(month, digits: 2)
        put(UInt8(ascii: "-"))
        put(day, digits: 2)
        put(UInt8(ascii: "T"))
        put(secondOfDay / 3600, digits: 2)
        put(UInt8(ascii: ":"))
        put(secondOfDay / 60 % 60, digits: 2)
        put(UInt8(ascii: ":"))
        put(secondOfDay % 60, digits: 2)
        if nanos != 0 {
            var fraction = nanos
            var digits = 9
            while fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
            put(UInt8(ascii: "."))
            put(fraction, digits: digits)
        }
        put(UInt8(ascii: "Z"))
        return index - start
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM)`, truncating the fraction to nine digits (see
    /// ``init(rfc3339:)``); error offsets are reported from `baseOffset`.
    static func parseRFC3339(_ bytes: UnsafeBufferPointer<UInt8>, baseOffset: Int) throws(EventBusError)
        -> EventTimestamp
    {
        func failure(_ message: String, at position: Int) -> EventBusError {
            EventBusError(
                .malformedEnvelope,
                "timestamp \(message) at byte offset \(baseOffset + position); expected RFC 3339 like "
                    + "2006-01-02T15:04:05.999999999Z",
                field: "timestamp")
        }
        @inline(__always) func number(_ position: Int, digits: Int) throws(EventBusError) -> Int64 {
            guard position + digits <= bytes.count else { throw failure("is truncated", at: bytes.count) }
            var value: Int64 = 0
            for index in position..<(position + digits) {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                    throw failure("has a non-digit", at: index)
                }
                value = value * 10 + Int64(byte &- UInt8(ascii: "0"))
            }
            return value
        }
        func separator(_ expected: UInt8, at position: Int) throws(EventBusError) {
            guard position < bytes.count else { throw failure("is truncated", at: position) }
            guard bytes[position] == expected else {
                throw failure("expects '\(Character(Unicode.Scalar(expected)))'", at: position)
            }
        }

        let year = try number(0, digits: 4)
        try separator(UInt8(ascii: "-"), at: 4)
        let month = try number(5, digits: 2)
        try separator(UInt8(ascii: "-"), at: 7)
        let day = try number(8, digits: 2)
        try separator(UInt8(ascii: "T"), at: 10)
        let hour = try number(11, digits: 2)
        try separator(UInt8(ascii: ":"), at: 13)
        let minute = try number(14, digits: 2)
        try separator(UInt8(ascii: ":"), at: 16)
        let second = try number(17, digits: 2)
        guard month >= 1 && month <= 12 else { throw failure("has month out of range", at: 5) }
        guard day >= 1 && day <= daysInMonth(year: year, month: month) else {
            throw failure("has day out of range", at: 8)
        }
        guard hour <= 23 else { throw failure("has hour out of range", at: 11) }
        guard minute <= 59 else { throw failure("has minute out of range", at: 14) }
        guard second <= 59 else { throw failure("has second out of range", at: 17) }

        var index = 19
        var fraction: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                // Digits past the ninth are read and dropped: truncation, as Go's parseNanoseconds does.
                if digits < 9 { fraction = fraction * 10 + Int64(bytes[index] &- UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw failure("has no digits after '.'", at: index) }
            for _ in min(digits, 9)..<9 { fraction *= 10 }
        }

        var offsetSeconds: Int64 = 0
        guard index < bytes.count else { throw failure("lacks a zone ('Z' or ±HH:MM)", at: index) }
        switch bytes[index] {
        case UInt8(ascii: "Z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let offsetHours = try number(index + 1, digits: 2)
            try separator(UInt8(ascii: ":"), at: index + 3)
            let offsetMinutes = try number(index + 4, digits: 2)
            guard offsetHours <= 23 else { throw failure("has zone hour out of range", at: index + 1) }
            guard offsetMinutes <= 59 else { throw failure("has zone minute out of range", at: index + 4) }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            index += 6
        default:
            throw failure("lacks a zone ('Z' or ±HH:MM)", at: index)
        }
        guard index == bytes.count else { throw failure("has extra characters", at: index) }

        // Years 0000–9999 keep these seconds far from overflow; only the nanosecond scaling can.
        let seconds =
            days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        // Scale (seconds + 1) when a fraction follows a negative second, so Int64.min stays reachable.
        let carry: Int64 = seconds < 0 && fraction > 0 ? 1 : 0
        let (scaled, overflow1) = (seconds + carry).multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = scaled.addingReportingOverflow(fraction - carry * 1_000_000_000)
        guard !overflow1 && !overflow2 else {
            throw failure("is outside the representable range (years 1677–2262)", at: 0)
        }
        return EventTimestamp(nanosecondsSinceEpoch: total)
    }

    private static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension EventTimestamp: CustomStringConvertible {
    /// The RFC 3339 form, so logs show the same text as the wire format.
    public var description: String { rfc3339 }
}
