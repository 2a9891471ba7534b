/// A message as a topic partition retains it.
struct StoredMessage: Sendable {
    var key: String?
    var headers: [MessageHeader]
    var payload: [UInt8]
}
