/// The envelopes of one publish call, shared by every message carried from it.
final class EnvelopeBatch: Sendable {
    let envelopes: [Envelope]

    init(_ envelopes: [Envelope]) {
        self.envelopes = envelopes
    }
}
