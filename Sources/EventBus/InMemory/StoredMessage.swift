/// A message as a topic partition retains it.
struct StoredMessage: Sendable {
    var key: String?
    var headers: [MessageHeader]
    var payload: [UInt8]
    /// Set when an envelope was published without serializing it; `payload` is then empty.
    var envelope: CarriedEnvelope?

    init(key: String?, headers: [MessageHeader], payload: [UInt8]) {
        self.key = key
        self.headers = headers
        self.payload = payload
    }

    init(carrying envelope: CarriedEnvelope, key: String) {
        self.key = key
        self.headers = []
        self.payload = []
        self.envelope = envelope
    }
}

extension ReceivedMessage {
    /// The delivery of `stored`, taking its fields over: built from the stored message's fields
    /// one by one, each was retained twice and the copy released again (perf: `collect` ~6 % of a
    /// 1M in-memory run, half of it reference counting).
    init(
        delivering stored: consuming StoredMessage, topic: String, partition: Int32, offset: Int64,
        deliveryCount: Int, deliveryTag: UInt64
    ) {
        self.init(
            topic: topic, key: stored.key, storedHeaders: stored.headers, storedPayload: stored.payload,
            partition: partition, offset: offset, deliveryCount: deliveryCount, deliveryTag: deliveryTag,
            carriedEnvelope: stored.envelope)
    }
}
