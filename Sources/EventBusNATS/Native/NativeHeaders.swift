import CNats
import EventBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes and reads the NATS headers of a message.
enum NativeHeaders {
    /// The header JetStream deduplicates on.
    static let messageID = "Nats-Msg-Id"
    /// Carries a message key that is not already the aggregate ID.
    static let key = "X-Key"

    /// The wire form of a message: its headers encoded as NATS sends them (with `Nats-Msg-Id` =
    /// its event ID, and `X-Key` when the key is not the aggregate ID), then its payload.
    ///
    /// Encoding here instead of through `natsMsgHeader_Set` saves nats.c a hash map and two string
    /// copies per header on every publish. Names and values that the NATS header format cannot
    /// carry are refused rather than altered (nats.c would turn CR and LF into spaces).
    static func wireMessage(_ message: OutgoingMessage) throws(EventBusError) -> (bytes: [UInt8], headerLength: Int) {
        var eventID: String?
        var aggregateID: String?
        var hasMessageID = false
        for header in message.headers {
            switch header.name {
            case OutgoingMessage.EnvelopeHeader.eventID: eventID = header.value
            case OutgoingMessage.EnvelopeHeader.aggregateID: aggregateID = header.value
            case messageID: hasMessageID = true
            default: break
            }
        }
        var extra: [MessageHeader] = []
        if !hasMessageID, let eventID { extra.append(MessageHeader(name: messageID, value: eventID)) }
        if let key = message.key, key != aggregateID { extra.append(MessageHeader(name: Self.key, value: key)) }
        guard !message.headers.isEmpty || !extra.isEmpty else { return (message.payload, 0) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + (message.headers.count + extra.count) * 48 + message.payload.count)
        bytes.append(contentsOf: "NATS/1.0\r\n".utf8)
        for header in [message.headers, extra].joined() {
            try append(header, to: &bytes)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        let headerLength = bytes.count
        bytes.append(contentsOf: message.payload)
        return (bytes, headerLength)
    }

    private static func append(_ header: MessageHeader, to bytes: inout [UInt8]) throws(EventBusError) {
        let start = bytes.count
        bytes.append(contentsOf: header.name.utf8)
        let nameEnd = bytes.count
        guard nameEnd > start, !bytes[start..<nameEnd].contains(where: isForbiddenInName) else {
            throw EventBusError(
                .invalidArgument,
                "NATS header name '\(header.name)' must be non-empty, without ':', spaces or control characters")
        }
        bytes.append(contentsOf: ": ".utf8)
        let valueStart = bytes.count
        bytes.append(contentsOf: header.value.utf8)
        guard !bytes[valueStart...].contains(where: isForbiddenInValue) else {
            throw EventBusError(
                .invalidArgument, "the value of NATS header '\(header.name)' must not contain CR, LF or NUL")
        }
        bytes.append(contentsOf: "\r\n".utf8)
    }

    private static func isForbiddenInName(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: ":")
    }

    private static func isForbiddenInValue(_ byte: UInt8) -> Bool {
        byte == 0 || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    /// Every header of `natsMessage`, in the order nats.c keeps them.
    static func read(_ natsMessage: OpaquePointer) -> [MessageHeader] {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(natsMessage, &keys, &count) == NATS_OK, let keys else { return [] }
        defer { free(keys) }
        var headers: [MessageHeader] = []
        headers.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            guard natsMsgHeader_Values(natsMessage, key, &values, &valueCount) == NATS_OK, let values else {
                continue
            }
            let name = String(cString: key)
            for valueIndex in 0..<Int(valueCount) {
                if let value = values[valueIndex] {
                    headers.append(MessageHeader(name: name, value: String(cString: value)))
                }
            }
            free(values)
        }
        return headers
    }
}
