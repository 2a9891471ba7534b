/// A strict, allocation-free JSON tokenizer over a byte buffer, for the envelope codec's hot path.
///
/// `JSONSerialization` and `Codable` allocate per value and cannot hand back a sub-value's exact
/// bytes, which the envelope needs for its raw JSON payload. The scanner validates what it passes
/// over (RFC 8259 grammar, escapes, UTF-8) and reports every failure as an ``EventBusError`` with the
/// byte offset, so no input can crash it. Nesting is tracked without recursion, up to
/// ``maximumDepth`` levels.
///
/// The buffer must stay valid while the scanner is used; it never escapes a `withUnsafe…` scope.
struct JSONScanner {
    /// How deeply arrays and objects may nest inside one value; deeper input is rejected, not recursed.
    ///
    /// Foundation's `JSONSerialization` refuses documents nested deeper than 512 levels; the values
    /// scanned here (a payload, an unknown key's value) sit inside the envelope object, which is the
    /// 512th, so Swift consumers can read every envelope this codec accepts. Go's limit is 10000.
    static let maximumDepth = 511

    /// The bytes being scanned.
    let bytes: UnsafeBufferPointer<UInt8>
    /// The index of the next byte to look at.
    var offset: Int

    /// A string token's contents (between the quotes), still escaped.
    struct RawString {
        /// Index of the first byte after the opening quote.
        var start: Int
        /// Index of the closing quote.
        var end: Int
        /// Whether the contents hold at least one backslash escape.
        var hasEscapes: Bool
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.offset = 0
    }

    var isAtEnd: Bool { offset >= bytes.count }

    /// The next byte, or `nil` at the end of the input.
    @inline(__always)
    func peek() -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    /// Consumes `byte` or throws, naming what was expected.
    @inline(__always)
    mutating func expect(_ byte: UInt8, field: StaticString, _ what: StaticString) throws(EventBusError) {
        guard offset < bytes.count else { throw error(field, "expected \(what) but input ended") }
        guard bytes[offset] == byte else { throw error(field, "expected \(what)") }
        offset += 1
    }

    /// A `malformedEnvelope` error at the current offset.
    func error(_ field: StaticString, _ message: String) -> EventBusError {
        error(field, message, at: offset)
    }

    /// A `malformedEnvelope` error at `position`.
    func error(_ field: StaticString, _ message: String, at position: Int) -> EventBusError {
        let found: String
        if position < bytes.count {
            let byte = bytes[position]
            found =
                byte >= 0x20 && byte < 0x7F
                ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        } else {
            found = "end of input"
        }
        return EventBusError(
            .malformedEnvelope, "\(message) at byte offset \(position) (found \(found))", field: field.description)
    }

    // MARK: Strings

    /// Scans a string token starting at the opening quote, validating escapes and UTF-8.
    ///
    /// Every string the scanner passes over goes through here (keys, known fields, skipped unknown
    /// values, strings nested in the payload), so a string it accepts names only Unicode scalars:
    /// no invalid UTF-8 and no `\u` escape of an unpaired UTF-16 surrogate.
    mutating func scanString(field: StaticString) throws(EventBusError) -> RawString {
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
            throw error(field, "expected a string")
        }
        let start = offset + 1
        var index = start
        var hasEscapes = false
        var hasNonASCII = false
        while true {
            index = JSONStringBytes.firstSpecial(in: bytes, from: index, to: bytes.count, stopAtNonASCII: !hasNonASCII)
            guard index < bytes.count else {
                throw error(field, "unterminated string", at: index)
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                index = try validateEscape(at: index, field: field)
                continue
            }
            if byte < 0x20 { throw error(field, "unescaped control character in string", at: index) }
            if byte >= 0x80 { hasNonASCII = true }
            index += 1
        }
        if hasNonASCII { try validateUTF8(from: start, to: index, field: field) }
        offset = index + 1
        return RawString(start: start, end: index, hasEscapes: hasEscapes)
    }

    /// Checks the escape sequence whose backslash is at `index`; returns the index after it.
    private func validateEscape(at index: Int, field: StaticString) throws(EventBusError) -> Int {
        guard index + 1 < bytes.count else { throw error(field, "unterminated escape", at: index) }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return index + 2
        case UInt8(ascii: "u"):
            guard index + 6 <= bytes.count else { throw error(field, "truncated \\u escape", at: index) }
            for position in (index + 2)..<(index + 6) where Self.hexValue(bytes[position]) == nil {
                throw error(field, "invalid hex digit in \\u escape", at: position)
            }
            // RFC 8259's grammar allows `\ud800` alone, but it names no character: Foundation's
            // JSONSerialization refuses it and Go decodes it as U+FFFD, so two readers would differ.
            // A high surrogate must be followed by a low-surrogate escape; a low one never stands first.
            let unit = hex4(at: index + 2)
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw error(field, "unpaired UTF-16 low surrogate in \\u escape", at: index)
            }
            guard unit >= 0xD800 && unit <= 0xDBFF else { return index + 6 }
            guard isLowSurrogateEscape(at: index + 6) else {
                throw error(field, "unpaired UTF-16 high surrogate in \\u escape", at: index)
            }
            return index + 12
        default:
            throw error(field, "invalid escape sequence", at: index + 1)
        }
    }

    /// Whether a `\uDC00`…`\uDFFF` escape starts at `index`.
    private func isLowSurrogateEscape(at index: Int) -> Bool {
        guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        else { return false }
        for position in (index + 2)..<(index + 6) where Self.hexValue(bytes[position]) == nil { return false }
        let unit = hex4(at: index + 2)
        return unit >= 0xDC00 && unit <= 0xDFFF
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }

    /// Rejects anything but well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
    private func validateUTF8(from start: Int, to end: Int, field: StaticString) throws(EventBusError) {
        var index = start
        while index < end {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                upper = 0x9F
            case 0xF0:
                length = 4
                lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                upper = 0x8F
            default: throw error(field, "invalid UTF-8", at: index)
            }
            guard index + length <= end else { throw error(field, "invalid UTF-8", at: index) }
            let second = bytes[index + 1]
            guard second >= lower && second <= upper else { throw error(field, "invalid UTF-8", at: index) }
            var position = index + 2
            while position < index + length {
                guard bytes[position] & 0xC0 == 0x80 else { throw error(field, "invalid UTF-8", at: position) }
                position += 1
            }
            index += length
        }
    }

    /// The unescaped text of a string token; lone UTF-16 surrogates are rejected, not replaced.
    func makeString(_ raw: RawString, field: StaticString) throws(EventBusError) -> String {
        let contents = UnsafeBufferPointer(rebasing: bytes[raw.start..<raw.end])
        guard raw.hasEscapes else { return String(decoding: contents, as: UTF8.self) }
        // Unescaped text is never longer than its escaped form.
        var failure: EventBusError?
        let text = String(unsafeUninitializedCapacity: contents.count) { output in
            do throws(EventBusError) {
                return try unescape(raw, into: output, field: field)
            } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        return text
    }

    /// Writes the unescaped bytes of `raw` into `output`; returns how many were written.
    func unescape(_ raw: RawString, into output: UnsafeMutableBufferPointer<UInt8>, field: StaticString)
        throws(EventBusError) -> Int
    {
        var index = raw.start
        var count = 0
        while index < raw.end {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                output[count] = byte
                count += 1
                index += 1
                continue
            }
            // scanString validated the escape syntax and the pairing of surrogates already; the
            // surrogate checks below only keep this function safe on its own.
            let kind = bytes[index + 1]
            var decoded: UInt8 = 0
            switch kind {
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                var scalar = hex4(at: index + 2)
                var consumed = 6
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard index + 12 <= raw.end, bytes[index + 6] == UInt8(ascii: "\\"),
                        bytes[index + 7] == UInt8(ascii: "u")
                    else { throw error(field, "unpaired UTF-16 surrogate in \\u escape", at: index) }
                    let low = hex4(at: index + 8)
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw error(field, "unpaired UTF-16 surrogate in \\u escape", at: index)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    consumed = 12
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw error(field, "unpaired UTF-16 surrogate in \\u escape", at: index)
                }
                count += Self.writeUTF8(scalar, into: output, at: count)
                index += consumed
                continue
            default: decoded = kind  // \" \\ \/
            }
            output[count] = decoded
            count += 1
            index += 2
        }
        return count
    }

    @inline(__always)
    private func hex4(at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for position in index..<(index + 4) {
            value = value << 4 | (Self.hexValue(bytes[position]) ?? 0)
        }
        return value
    }

    private static func writeUTF8(_ scalar: UInt32, into output: UnsafeMutableBufferPointer<UInt8>, at index: Int)
        -> Int
    {
        switch scalar {
        case 0..<0x80:
            output[index] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            output[index] = UInt8(0xC0 | scalar >> 6)
            output[index + 1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            output[index] = UInt8(0xE0 | scalar >> 12)
            output[index + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[index + 2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            output[index] = UInt8(0xF0 | scalar >> 18)
            output[index + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            output[index + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[index + 3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }

    // MARK: Numbers and literals

    /// Consumes a JSON integer (no fraction, no exponent) that fits in `Int64`.
    mutating func scanInt64(field: StaticString) throws(EventBusError) -> Int64 {
        let start = offset
        var index = offset
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
            throw error(field, "expected an integer", at: index)
        }
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count,
            bytes[index + 1] >= UInt8(ascii: "0"), bytes[index + 1] <= UInt8(ascii: "9")
        {
            throw error(field, "leading zero in number", at: index)
        }
        // Accumulate negatively so Int64.min fits.
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let digit = Int64(bytes[index] &- UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            if overflow1 || overflow2 { throw error(field, "integer out of the Int64 range", at: start) }
            value = next
            index += 1
        }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                throw error(field, "expected an integer, not a fraction or exponent", at: index)
            default: break
            }
        }
        if !negative {
            guard value != .min else { throw error(field, "integer out of the Int64 range", at: start) }
            value = -value
        }
        offset = index
        return value
    }

    /// Consumes a number per the JSON grammar whose value is finite as a `Double`.
    ///
    /// RFC 8259 §6 lets a reader limit the range of numbers; Foundation's `JSONSerialization` (and so
    /// `JSONDecoder`) refuses any number that rounds to infinity as a `Double`, like `1e400`. Such a
    /// payload could not be read by a Swift consumer, so it is refused here too, whatever its nesting.
    private mutating func skipNumber(field: StaticString) throws(EventBusError) {
        let start = offset
        var index = offset
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        @inline(__always) func isDigit(_ position: Int) -> Bool {
            position < bytes.count && bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9")
        }
        guard isDigit(index) else { throw error(field, "invalid number", at: index) }
        let integerStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        let integer = integerStart..<index
        var fraction = index..<index
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw error(field, "expected a digit after '.'", at: index) }
            let fractionStart = index
            while isDigit(index) { index += 1 }
            fraction = fractionStart..<index
        }
        var exponent: Range<Int>?
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            let exponentStart = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard isDigit(index) else { throw error(field, "expected a digit in exponent", at: index) }
            while isDigit(index) { index += 1 }
            exponent = exponentStart..<index
        }
        // Without an exponent, up to 308 integer digits stay below 10^308 < Double.greatestFiniteMagnitude.
        if exponent != nil || integer.count > 308,
            !isFiniteDouble(start..<index, integer: integer, fraction: fraction, exponent: exponent)
        {
            throw error(field, "number is beyond the range of a Double (about ±1.8e308)", at: start)
        }
        offset = index
    }

    /// Whether the number token in `token` is finite once converted to the nearest `Double`.
    ///
    /// Decides from the position of the leading non-zero digit and the exponent; only a value between
    /// 10^308 and 10^309, where `Double.greatestFiniteMagnitude` lies, is converted to be sure.
    private func isFiniteDouble(_ token: Range<Int>, integer: Range<Int>, fraction: Range<Int>, exponent: Range<Int>?)
        -> Bool
    {
        // The power of ten of the leading non-zero digit, before the exponent is applied.
        let leading: Int
        if bytes[integer.lowerBound] != UInt8(ascii: "0") {
            leading = integer.count - 1
        } else if let firstNonZero = fraction.first(where: { bytes[$0] != UInt8(ascii: "0") }) {
            leading = fraction.lowerBound - firstNonZero - 1
        } else {
            return true  // zero, whatever the exponent
        }
        var power = 0
        if let exponent {
            var index = exponent.lowerBound
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative || bytes[index] == UInt8(ascii: "+") { index += 1 }
            // Saturate far beyond any input length, so `leading` cannot bring it back into range.
            while index < exponent.upperBound {
                if power < 1 << 56 { power = power * 10 + Int(bytes[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            if negative { power = -power }
        }
        let magnitude = leading + power
        if magnitude != 308 { return magnitude < 308 }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[token]), as: UTF8.self)
        return Double(text)?.isFinite ?? false
    }

    /// Consumes `literal` (`true`, `false` or `null`).
    private mutating func skipLiteral(_ literal: StaticString, field: StaticString) throws(EventBusError) {
        let length = literal.utf8CodeUnitCount
        guard offset + length <= bytes.count else { throw error(field, "invalid literal") }
        let expected = literal.utf8Start
        for index in 0..<length where bytes[offset + index] != expected[index] {
            throw error(field, "invalid literal", at: offset + index)
        }
        offset += length
    }

    /// Consumes `null` if it comes next.
    mutating func skipNull() -> Bool {
        guard offset + 4 <= bytes.count, bytes[offset] == UInt8(ascii: "n"), bytes[offset + 1] == UInt8(ascii: "u"),
            bytes[offset + 2] == UInt8(ascii: "l"), bytes[offset + 3] == UInt8(ascii: "l")
        else { return false }
        offset += 4
        return true
    }

    // MARK: Whole values

    /// Validates one complete JSON value starting here; returns its exact byte range.
    ///
    /// Iterative rather than recursive, so hostile nesting cannot overflow the stack.
    mutating func scanValue(field: StaticString) throws(EventBusError) -> Range<Int> {
        skipWhitespace()
        let start = offset
        var containers = ContainerStack()
        while true {
            // A value begins here.
            guard offset < bytes.count else { throw error(field, "expected a JSON value but input ended") }
            var closedValue = true
            switch bytes[offset] {
            case UInt8(ascii: "{"):
                // An empty container is a level too (Foundation counts it), so check before knowing.
                try containers.requireRoom(scanner: self, field: field)
                offset += 1
                skipWhitespace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                    offset += 1
                } else {
                    try containers.push(isObject: true, scanner: self, field: field)
                    try scanMemberName(field: field)
                    closedValue = false
                }
            case UInt8(ascii: "["):
                try containers.requireRoom(scanner: self, field: field)
                offset += 1
                skipWhitespace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                } else {
                    try containers.push(isObject: false, scanner: self, field: field)
                    closedValue = false
                }
            case UInt8(ascii: "\""): _ = try scanString(field: field)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber(field: field)
            case UInt8(ascii: "t"): try skipLiteral("true", field: field)
            case UInt8(ascii: "f"): try skipLiteral("false", field: field)
            case UInt8(ascii: "n"): try skipLiteral("null", field: field)
            default: throw error(field, "expected a JSON value")
            }
            guard closedValue else { continue }
            // A value ended: close containers or move to the next element.
            while true {
                guard let isObject = containers.top else { return start..<offset }
                skipWhitespace()
                guard offset < bytes.count else { throw error(field, "unterminated \(isObject ? "object" : "array")") }
                let byte = bytes[offset]
                if byte == UInt8(ascii: ",") {
                    offset += 1
                    skipWhitespace()
                    if isObject { try scanMemberName(field: field) }
                    break
                }
                if byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    offset += 1
                    containers.pop()
                    continue
                }
                throw error(field, isObject ? "expected ',' or '}' in object" : "expected ',' or ']' in array")
            }
        }
    }

    /// Consumes `"name" :` and the whitespace before the member's value.
    private mutating func scanMemberName(field: StaticString) throws(EventBusError) {
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
            throw error(field, "expected a member name string")
        }
        _ = try scanString(field: field)
        skipWhitespace()
        try expect(UInt8(ascii: ":"), field: field, "':' after member name")
        skipWhitespace()
    }
}
