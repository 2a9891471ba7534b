/// Writes an envelope's JSON in one pass into a buffer sized exactly beforehand.
///
/// Keys come in the order Go's `encoding/json` writes the jxt-core struct, without whitespace, so a
/// Go service and this one produce the same bytes for the same event (Go additionally escapes
/// `<`, `>`, `&` as `\u003c`…, which both sides decode identically). The caller validates first.
enum EnvelopeEncoder {
    private static let eventIDPrefix: StaticString = "{\"event_id\":\""
    private static let aggregateIDPrefix: StaticString = "\",\"aggregate_id\":\""
    private static let eventTypePrefix: StaticString = "\",\"event_type\":\""
    private static let eventVersionPrefix: StaticString = "\",\"event_version\":"
    private static let timestampPrefix: StaticString = ",\"timestamp\":\""
    private static let traceIDPrefix: StaticString = "\",\"trace_id\":\""
    private static let correlationIDPrefix: StaticString = "\",\"correlation_id\":\""
    private static let tenantIDPrefix: StaticString = "\",\"tenant_id\":\""
    private static let payloadPrefix: StaticString = "\",\"payload\":"

    /// The exact number of bytes ``write(_:into:at:)`` produces.
    static func encodedSize(_ envelope: Envelope) -> Int {
        var size =
            eventIDPrefix.utf8CodeUnitCount + aggregateIDPrefix.utf8CodeUnitCount
            + eventTypePrefix.utf8CodeUnitCount + eventVersionPrefix.utf8CodeUnitCount
            + timestampPrefix.utf8CodeUnitCount + payloadPrefix.utf8CodeUnitCount + 1
        size += escapedLength(envelope.eventID) + escapedLength(envelope.aggregateID)
        size += escapedLength(envelope.eventType)
        size += decimalLength(envelope.eventVersion)
        size += envelope.timestamp.rfc3339Length
        if let value = envelope.traceID, !value.isEmpty {
            size += traceIDPrefix.utf8CodeUnitCount + escapedLength(value)
        }
        if let value = envelope.correlationID, !value.isEmpty {
            size += correlationIDPrefix.utf8CodeUnitCount + escapedLength(value)
        }
        if let value = envelope.tenantID, !value.isEmpty {
            size += tenantIDPrefix.utf8CodeUnitCount + escapedLength(value)
        }
        return size + envelope.payload.count
    }

    /// Writes the envelope at `start`; `buffer` must hold ``encodedSize(_:)`` bytes from there.
    /// Returns the number of bytes written.
    static func write(_ envelope: Envelope, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var writer = Writer(buffer: buffer, index: start)
        writer.write(eventIDPrefix)
        writer.writeEscaped(envelope.eventID)
        writer.write(aggregateIDPrefix)
        writer.writeEscaped(envelope.aggregateID)
        writer.write(eventTypePrefix)
        writer.writeEscaped(envelope.eventType)
        writer.write(eventVersionPrefix)
        writer.writeDecimal(envelope.eventVersion)
        writer.write(timestampPrefix)
        writer.index += envelope.timestamp.writeRFC3339(into: buffer, at: writer.index)
        if let value = envelope.traceID, !value.isEmpty {
            writer.write(traceIDPrefix)
            writer.writeEscaped(value)
        }
        if let value = envelope.correlationID, !value.isEmpty {
            writer.write(correlationIDPrefix)
            writer.writeEscaped(value)
        }
        if let value = envelope.tenantID, !value.isEmpty {
            writer.write(tenantIDPrefix)
            writer.writeEscaped(value)
        }
        writer.write(payloadPrefix)
        envelope.payload.withUnsafeBufferPointer { writer.write($0) }
        writer.write(UInt8(ascii: "}"))
        return writer.index - start
    }

    /// The length of `value`'s JSON string contents once `"`, `\` and control characters are escaped.
    static func escapedLength(_ value: String) -> Int {
        var copy = value
        return copy.withUTF8 { bytes in
            var length = bytes.count
            var index = JSONStringBytes.firstSpecial(in: bytes, from: 0, to: bytes.count, stopAtNonASCII: false)
            while index < bytes.count {
                let byte = bytes[index]
                if byte < 0x20 {
                    switch byte {
                    case 0x08, 0x09, 0x0A, 0x0C, 0x0D: length += 1
                    default: length += 5
                    }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    length += 1
                }
                index += 1
            }
            return length
        }
    }

    /// The length of `value` in decimal, with its sign.
    static func decimalLength(_ value: Int64) -> Int {
        (value < 0 ? 1 : 0) + digitCount(value.magnitude)
    }

    static func digitCount(_ value: UInt64) -> Int {
        var count = 1
        var remaining = value
        while remaining >= 10 {
            remaining /= 10
            count += 1
        }
        return count
    }

    /// A cursor over the output buffer.
    private struct Writer {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var index: Int

        @inline(__always)
        mutating func write(_ byte: UInt8) {
            buffer[index] = byte
            index += 1
        }

        @inline(__always)
        mutating func write(_ literal: StaticString) {
            write(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        }

        @inline(__always)
        mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard !bytes.isEmpty else { return }
            _ = UnsafeMutableBufferPointer(rebasing: buffer[index..<(index + bytes.count)])
                .initialize(fromContentsOf: bytes)
            index += bytes.count
        }

        mutating func writeEscaped(_ value: String) {
            var copy = value
            copy.withUTF8 { bytes in
                // Most identifiers need no escaping: find the first byte that does, copy up to it in bulk.
                let clean = JSONStringBytes.firstSpecial(in: bytes, from: 0, to: bytes.count, stopAtNonASCII: false)
                write(UnsafeBufferPointer(rebasing: bytes[0..<clean]))
                for byte in bytes[clean...] {
                    switch byte {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                        write(UInt8(ascii: "\\"))
                        write(byte)
                    case 0x08: writeShortEscape(UInt8(ascii: "b"))
                    case 0x09: writeShortEscape(UInt8(ascii: "t"))
                    case 0x0A: writeShortEscape(UInt8(ascii: "n"))
                    case 0x0C: writeShortEscape(UInt8(ascii: "f"))
                    case 0x0D: writeShortEscape(UInt8(ascii: "r"))
                    case 0..<0x20:
                        let hexDigits: StaticString = "0123456789abcdef"
                        write("\\u00")
                        write(hexDigits.utf8Start[Int(byte >> 4)])
                        write(hexDigits.utf8Start[Int(byte & 0x0F)])
                    default:
                        write(byte)
                    }
                }
            }
        }

        private mutating func writeShortEscape(_ letter: UInt8) {
            write(UInt8(ascii: "\\"))
            write(letter)
        }

        mutating func writeDecimal(_ value: Int64) {
            if value < 0 { write(UInt8(ascii: "-")) }
            var remaining = value.magnitude
            let count = EnvelopeEncoder.digitCount(remaining)
            var position = index + count - 1
            while position >= index {
                buffer[position] = UInt8(truncatingIfNeeded: remaining % 10) &+ UInt8(ascii: "0")
                remaining /= 10
                position -= 1
            }
            index += count
        }
    }
}
