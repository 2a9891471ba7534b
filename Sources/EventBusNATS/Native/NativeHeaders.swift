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

    /// Copies the headers of `message` onto `natsMessage`, with `Nats-Msg-Id` = its event ID.
    static func write(_ message: OutgoingMessage, to natsMessage: OpaquePointer) -> natsStatus {
        var status = NATS_OK
        var eventID: String?
        var aggregateID: String?
        var hasMessageID = false
        for header in message.headers {
            status = natsMsgHeader_Add(natsMessage, header.name, header.value)
            guard status == NATS_OK else { return status }
            switch header.name {
            case OutgoingMessage.EnvelopeHeader.eventID: eventID = header.value
            case OutgoingMessage.EnvelopeHeader.aggregateID: aggregateID = header.value
            case messageID: hasMessageID = true
            default: break
            }
        }
        if !hasMessageID, let eventID {
            status = natsMsgHeader_Set(natsMessage, messageID, eventID)
            guard status == NATS_OK else { return status }
        }
        if let key = message.key, key != aggregateID {
            status = natsMsgHeader_Set(natsMessage, Self.key, key)
        }
        return status
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
