/// An envelope travelling inside the process without being serialized.
///
/// The in-memory bus hands it from publisher to envelope handler as is, which saves an encode, a
/// decode and their allocations per message. A class, so a message carries one reference rather
/// than the envelope's nine fields.
final class CarriedEnvelope: Sendable {
    let envelope: Envelope

    init(_ envelope: Envelope) {
        self.envelope = envelope
    }
}
