/// An envelope travelling inside the process without being serialized: a place in a published batch.
///
/// The in-memory bus hands it from publisher to envelope handler as is, which saves an encode, a
/// decode and their allocations per message. Pointing into the publisher's batch rather than
/// boxing each envelope costs one allocation per batch and no copy of the envelope's fields.
struct CarriedEnvelope: Sendable {
    let batch: EnvelopeBatch
    let index: Int

    /// The envelope itself.
    var envelope: Envelope { batch.envelopes[index] }
}
