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
