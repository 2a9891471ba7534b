/// A message as a subscriber's handler receives it.
///
/// `payload` and `headers` are always what was published, whichever way the backend carried the
/// message: a broker backend may leave them in its client library's buffers until the handler
/// runs, and the in-memory bus may carry an envelope unserialized; reading either property then
/// produces them, exactly as a broker would have delivered them.
public struct ReceivedMessage: Sendable {
    /// The topic it was published to.
    public var topic: String
    /// The routing key it was published with.
    public var key: String?
    /// What is stored of the headers; see ``headers``.
    var storedHeaders: [MessageHeader]
    /// What is stored of the payload; see ``payload``.
    var storedPayload: [UInt8]
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
}

// Every initializer delegates to the implicit memberwise one (which exists because none is
// declared in the struct's body): one that assigned the fields itself built the message in a
// stack slot and returned a copy of it, retaining every reference the message holds and
// releasing them again (Swift 6.3, -O, a struct of this size: `ReceivedMessageVWOc` and `WOh` in
// each initializer), on the fetch and delivery threads, for every message.
extension ReceivedMessage {
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
        self.init(
            topic: topic, key: key, storedHeaders: headers, storedPayload: payload, partition: partition,
            offset: offset, deliveryCount: deliveryCount, deliveryTag: deliveryTag, carriedEnvelope: carriedEnvelope)
    }

    /// A message carrying `envelope` unserialized, as the in-memory bus delivers one (for tests).
    package static func carrying(_ envelope: Envelope, topic: String, headers: [MessageHeader] = []) -> ReceivedMessage
    {
        ReceivedMessage(
            topic: topic, key: envelope.aggregateID, headers: headers, payload: [], partition: 0, offset: 0,
            deliveryCount: 1, carriedEnvelope: CarriedEnvelope(batch: EnvelopeBatch([envelope]), index: 0))
    }

    /// Creates a message whose payload and headers stay with `source` until ``materialized()``.
    package init(
        topic: String, key: String?, partition: Int32, offset: Int64, deliveryCount: Int = 1, deliveryTag: UInt64 = 0,
        deferredContent source: any DeferredMessageContent, index: Int
    ) {
        self.init(
            topic: topic, key: key, storedHeaders: [], storedPayload: [], partition: partition, offset: offset,
            deliveryCount: deliveryCount, deliveryTag: deliveryTag, carriedEnvelope: nil,
            deferredContent: (source, index))
    }

    /// The headers it was published with (a carried envelope's `X-Event-*` headers first, as a
    /// broker backend delivers them), then any the backend added.
    public var headers: [MessageHeader] {
        get {
            if let deferred = deferredContent {
                let content = deferred.source.headers(at: deferred.index)
                return storedHeaders.isEmpty ? content : content + storedHeaders
            }
            if let carried = carriedEnvelope, storedPayload.isEmpty {
                return OutgoingMessage.headers(for: carried.envelope) + storedHeaders
            }
            return storedHeaders
        }
        set {
            materialize()
            storedHeaders = newValue
        }
    }

    /// The headers a broker delivered: stored, or read from a backend's deferred content; unlike
    /// ``headers``, without a carried envelope's `X-Event-*` headers.
    package var deliveredHeaders: [MessageHeader] {
        guard let deferred = deferredContent else { return storedHeaders }
        let content = deferred.source.headers(at: deferred.index)
        return storedHeaders.isEmpty ? content : content + storedHeaders
    }

    /// The raw payload: for an envelope, its jxt-core JSON.
    public var payload: [UInt8] {
        get {
            if let deferred = deferredContent { return deferred.source.payload(at: deferred.index) }
            if let carried = carriedEnvelope, storedPayload.isEmpty { return carried.encodedPayload }
            return storedPayload
        }
        set {
            materialize()
            storedPayload = newValue
        }
    }

    /// Calls `body` with the payload's bytes, valid only inside `body`: content a backend left in
    /// its buffers is read in place, without the copy ``payload`` makes.
    package func withPayloadBytes<Value, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        if deferredContent != nil {
            // Through the source's non-generic entry: its generic one, called on an existential,
            // runs unspecialized (see ``DeferredMessageContent/readPayload(at:_:)``). Called on the
            // stored property, not on a copy bound by `if let`: the copy retained and released the
            // source, which every message of a fetch shares, on every read.
            var result: Result<Value, Failure>?
            deferredContent.unsafelyUnwrapped.source.readPayload(at: deferredContent.unsafelyUnwrapped.index) {
                bytes in
                result = Result { () throws(Failure) in try body(bytes) }
            }
            return try result!.get()
        }
        let payload = self.payload
        // Array's `withUnsafeBytes` rethrows untyped errors: carried out as a typed Result.
        let result = payload.withUnsafeBytes { bytes in Result { () throws(Failure) in try body(bytes) } }
        return try result.get()
    }

    /// Fills the stored payload and headers from deferred content, if any, and lets go of its
    /// source; content whose source reads on demand (``DeferredMessageContent/readsOnDemand``)
    /// stays there, to be read only if the handler asks for it.
    ///
    /// The actor pool calls it on the thread that handles the message, just before the handler.
    package mutating func copyDeferredContent() {
        guard let deferred = deferredContent, !deferred.source.readsOnDemand else { return }
        takeDeferredContent()
    }

    /// Fills the stored payload and headers from deferred content, if any, and lets go of its
    /// source, whatever the source: for a message that must outlive the source's buffers or be
    /// changed.
    package mutating func takeDeferredContent() {
        guard let deferred = deferredContent else { return }
        deferredContent = nil
        let content = deferred.source.content(at: deferred.index)
        storedPayload = content.payload
        storedHeaders = storedHeaders.isEmpty ? content.headers : content.headers + storedHeaders
    }

    /// Stores what the getters would produce, so a change through a setter applies to the
    /// message as published.
    private mutating func materialize() {
        storeContent { $0.encodedPayload }
    }

    /// This message with `payload` and `headers` filled in from a carried envelope or deferred
    /// content, exactly as a broker backend would have delivered it; unchanged when nothing is
    /// carried or deferred.
    package func materialized() throws(EventBusError) -> ReceivedMessage {
        var message = self
        try message.storeContent { carried throws(EventBusError) in try EnvelopeCodec.encode(carried.envelope) }
        return message
    }

    /// Copies deferred content into the stored fields, or stores a carried envelope: `encode` makes
    /// its JSON, and its `X-Event-*` headers go before the ones added; nothing otherwise.
    private mutating func storeContent<Failure: Error>(
        encode: (CarriedEnvelope) throws(Failure) -> [UInt8]
    ) throws(Failure) {
        if deferredContent != nil {
            takeDeferredContent()
        } else if let carried = carriedEnvelope, storedPayload.isEmpty {
            storedPayload = try encode(carried)
            storedHeaders = OutgoingMessage.headers(for: carried.envelope) + storedHeaders
        }
    }
}

/// An envelope decoded ahead of its handler, boxed so that a message without one stays small.
package final class DecodedEnvelope: Sendable {
    package let envelope: Envelope

    package init(_ envelope: Envelope) {
        self.envelope = envelope
    }
}
