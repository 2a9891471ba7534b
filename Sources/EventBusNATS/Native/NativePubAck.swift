/// A JetStream PubAck reply, read in place from its JSON body without Foundation.
///
/// The server answers a publish to a stream with `{"stream":"S","seq":N}` (plus `"duplicate":true`
/// when `Nats-Msg-Id` matched a message it already stored, and `"domain":…` in some setups), or
/// with `{"error":{"code":C,"err_code":E,"description":"…"}}`. Unknown fields are skipped, so a
/// newer server's additions do not make a good ack unreadable.
package enum NativePubAck: Equatable {
    /// The stream holds the message; `duplicate` when it held it already and stored nothing new.
    case stored(sequence: UInt64, duplicate: Bool)
    /// The server refused the message: its status `code`, JetStream `errorCode` and text.
    case rejected(code: Int, errorCode: Int, description: String)
    /// Not a PubAck the bus can read.
    case unreadable

    /// Reads one PubAck body.
    package static func parse(_ bytes: UnsafeRawBufferPointer) -> NativePubAck {
        var reader = Reader(bytes: bytes)
        return reader.pubAck() ?? .unreadable
    }

    /// Reads one PubAck body.
    package static func parse(_ text: String) -> NativePubAck {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// A cursor over the body; every method returns nil on input it cannot read.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        mutating func pubAck() -> NativePubAck? {
            var hasStream = false
            var sequence: UInt64?
            var duplicate = false
            var rejection: NativePubAck?
            let read = object { reader, key in
                if reader.equals(key, "stream") {
                    guard let value = reader.string() else { return false }
                    hasStream = !value.isEmpty
                } else if reader.equals(key, "seq") {
                    guard let value = reader.unsigned() else { return false }
                    sequence = value
                } else if reader.equals(key, "duplicate") {
                    guard let value = reader.boolean() else { return false }
                    duplicate = value
                } else if reader.equals(key, "error") {
                    guard let value = reader.error() else { return false }
                    rejection = value
                } else {
                    return reader.skipValue(depth: 0)
                }
                return true
            }
            guard read else { return nil }
            skipSpace()
            guard index == bytes.count else { return nil }
            if let rejection { return rejection }
            guard hasStream, let sequence else { return nil }
            return .stored(sequence: sequence, duplicate: duplicate)
        }

        private mutating func error() -> NativePubAck? {
            var code = 0
            var errorCode = 0
            var description = ""
            let read = object { reader, key in
                if reader.equals(key, "code") {
                    guard let value = reader.unsigned() else { return false }
                    code = Int(clamping: value)
                } else if reader.equals(key, "err_code") {
                    guard let value = reader.unsigned() else { return false }
                    errorCode = Int(clamping: value)
                } else if reader.equals(key, "description") {
                    guard let value = reader.string() else { return false }
                    description = reader.text(value)
                } else {
                    return reader.skipValue(depth: 1)
                }
                return true
            }
            return read ? .rejected(code: code, errorCode: errorCode, description: description) : nil
        }

        /// Reads `{ "key": value, … }`, handing each key's range to `member`, which reads the value.
        private mutating func object(_ member: (inout Reader, Range<Int>) -> Bool) -> Bool {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return false }
            skipSpace()
            if take(UInt8(ascii: "}")) { return true }
            while true {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard member(&self, key) else { return false }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "}"))
            }
        }

        /// Reads a string and returns the range of its raw contents (escapes left in place).
        private mutating func string() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    defer { index += 1 }
                    return start..<index
                case UInt8(ascii: "\\"): index += 2
                default: index += 1
                }
            }
            return nil
        }

        private mutating func unsigned() -> UInt64? {
            var value: UInt64 = 0
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                let (times, overflowed) = value.multipliedReportingOverflow(by: 10)
                guard !overflowed else { return nil }
                let (sum, overflowedSum) = times.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
                guard !overflowedSum else { return nil }
                value = sum
                index += 1
            }
            return index > start ? value : nil
        }

        private mutating func boolean() -> Bool? {
            if literal("true") { return true }
            if literal("false") { return false }
            return nil
        }

        /// Skips any JSON value, nesting at most a few levels (a PubAck has two).
        private mutating func skipValue(depth: Int) -> Bool {
            guard depth < 8, index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "{"): return object { reader, _ in reader.skipValue(depth: depth + 1) }
            case UInt8(ascii: "["):
                index += 1
                skipSpace()
                if take(UInt8(ascii: "]")) { return true }
                while true {
                    skipSpace()
                    guard skipValue(depth: depth + 1) else { return false }
                    skipSpace()
                    if take(UInt8(ascii: ",")) { continue }
                    return take(UInt8(ascii: "]"))
                }
            case UInt8(ascii: "t"), UInt8(ascii: "f"): return boolean() != nil
            case UInt8(ascii: "n"): return literal("null")
            default:
                _ = take(UInt8(ascii: "-"))
                let start = index
                while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
                return index > start
            }
        }

        private static func isNumberByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: "-")
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        private func equals(_ range: Range<Int>, _ word: StaticString) -> Bool {
            guard range.count == word.utf8CodeUnitCount else { return false }
            for offset in 0..<range.count where bytes[range.lowerBound + offset] != word.utf8Start[offset] {
                return false
            }
            return true
        }

        /// The text of a string's raw contents, with the common escapes resolved (a `\u` escape
        /// is kept as written: descriptions are ASCII in practice, and this is for a log line).
        private func text(_ range: Range<Int>) -> String {
            var decoded: [UInt8] = []
            decoded.reserveCapacity(range.count)
            var position = range.lowerBound
            while position < range.upperBound {
                let byte = bytes[position]
                position += 1
                guard byte == UInt8(ascii: "\\"), position < range.upperBound else {
                    decoded.append(byte)
                    continue
                }
                let escaped = bytes[position]
                position += 1
                switch escaped {
                case UInt8(ascii: "n"): decoded.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "t"): decoded.append(UInt8(ascii: "\t"))
                case UInt8(ascii: "r"): decoded.append(UInt8(ascii: "\r"))
                case UInt8(ascii: "u"): decoded.append(contentsOf: [UInt8(ascii: "\\"), escaped])
                default: decoded.append(escaped)
                }
            }
            return String(decoding: decoded, as: UTF8.self)
        }

        private mutating func skipSpace() {
            while index < bytes.count,
                bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\n")
                    || bytes[index] == UInt8(ascii: "\r") || bytes[index] == UInt8(ascii: "\t")
            {
                index += 1
            }
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
    }
}
