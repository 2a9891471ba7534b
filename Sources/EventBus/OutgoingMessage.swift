/// A message handed to ``EventBus/publish(_:)-(OutgoingMessage)``.
public struct OutgoingMessage: Sendable {
    /// The topic the message is published to.
    public var topic: String
    /// Routes the message: messages with the same key keep their order (one partition, one actor).
    public var key: String?
    /// Metadata delivered beside the payload.
    public var headers: [MessageHeader]
    /// The raw bytes; the bus never looks inside them.
    public var payload: [UInt8]

    /// Creates a message.
    public init(topic: String, key: String? = nil, headers: [MessageHeader] = [], payload: [UInt8]) {
        self.topic = topic
        self.key = key
        self.headers = headers
        self.payload = payload
    }
}
