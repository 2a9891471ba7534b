/// A message as a subscriber's handler receives it.
public struct ReceivedMessage: Sendable {
    /// The topic it was published to.
    public var topic: String
    /// The routing key it was published with.
    public var key: String?
    /// The headers it was published with.
    public var headers: [MessageHeader]
    /// The raw payload.
    public var payload: [UInt8]
    /// The partition it was read from; 0 on backends without partitions.
    public var partition: Int32
    /// Its position in that partition (Kafka offset, JetStream stream sequence, in-memory log offset).
    public var offset: Int64
    /// How many times the backend has delivered it, counting this delivery (1 on the first).
    public var deliveryCount: Int
    /// An opaque value the backend uses to find its acknowledgement state again.
    public var deliveryTag: UInt64
    /// The envelope itself when an in-process backend carried it unserialized; `payload` and
    /// `headers` are then empty until ``materialized()`` fills them.
    var carriedEnvelope: CarriedEnvelope?
    /// Where a broker backend left the payload and headers; they are empty until
    /// ``materialized()`` copies them out.
    package var deferredContent: (source: any DeferredMessageContent, index: Int)?
    /// The envelope the pool decoded to route a keyless message by its aggregate ID
    /// (``ActorPool/KeylessRouting/envelopeAggregateID``), so the envelope handler does not decode
    /// it again.
    package var decodedEnvelope: DecodedEnvelope?

    /// Creates a received message; backends and tests use this.
    public init(
        topic: String,
        key: String? = nil,
        headers: [MessageHeader] = [],
        payload: [UInt8],
        partition: Int32 = 0,
        offset: Int64 = 0,
        deliveryCount: Int = 1,
        deliveryTag: UInt64 = 0
    ) {
        self.init(
            topic: topic, key: key, headers: headers, payload: payload, partition: partition, offset: offset,
            deliveryCount: deliveryCount, deliveryTag: deliveryTag, carriedEnvelope: nil)
    }

    init(
        topic: String,
        key: String?,
        headers: [MessageHeader],
        payload: [UInt8],
        partition: Int32,
        offset: Int64,
        deliveryCount: Int,
        deliveryTag: UInt64 = 0,
        carriedEnvelope: CarriedEnvelope?
    ) {
        self.carriedEnvelope = carriedEnvelope
        self.topic = topic
        self.key = key
        self.headers = headers
        self.payload = payload
        self.partition = partition
        self.offset = offset
        self.deliveryCount = deliveryCount
        self.deliveryTag = deliveryTag
    }

    /// Creates a message whose payload and headers stay with `source` until ``materialized()``.
    package init(
        topic: String, key: String?, partition: Int32, offset: Int64,
        deferredContent source: any DeferredMessageContent, index: Int
    ) {
        self.init(
            topic: topic, key: key, headers: [], payload: [], partition: partition, offset: offset,
            deliveryCount: 1, carriedEnvelope: nil)
        self.deferredContent = (source, index)
    }

    /// Fills `payload` and `headers` from deferred content, if any, and lets go of its source.
    ///
    /// The actor pool calls it on the thread that handles the message, just before the handler.
    package mutating func copyDeferredContent() {
        guard let deferred = deferredContent else { return }
        deferredContent = nil
        let content = deferred.source.content(at: deferred.index)
        payload = content.payload
        headers = headers.isEmpty ? content.headers : content.headers + headers
    }

    /// This message with `payload` and `headers` filled in from a carried envelope or deferred
    /// content, exactly as a broker backend would have delivered it; unchanged when nothing is
    /// carried or deferred.
    package func materialized() throws(EventBusError) -> ReceivedMessage {
        if deferredContent != nil {
            var message = self
            message.copyDeferredContent()
            return message
        }
        guard let carried = carriedEnvelope, payload.isEmpty else { return self }
        var message = self
        message.payload = try EnvelopeCodec.encode(carried.envelope)
        message.headers = OutgoingMessage.headers(for: carried.envelope) + headers
        return message
    }
}

/// An envelope decoded ahead of its handler, boxed so that a message without one stays small.
package final class DecodedEnvelope: Sendable {
    package let envelope: Envelope

    package init(_ envelope: Envelope) {
        self.envelope = envelope
    }
}
