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

    /// Calls `body` with the envelope lent to it, not copied (see `EnvelopeBatch.lend(_:to:)`).
    @inline(__always)
    func lendEnvelope<Failure: Error>(to body: (Envelope) async throws(Failure) -> Void) async throws(Failure) {
        try await batch.lend(index, to: body)
    }

    /// The envelope's jxt-core JSON, as a broker backend would have carried it. The in-memory bus
    /// validated the envelope (`EnvelopeCodec.validate`) before carrying it, and encoding refuses
    /// only what validation refuses, so the fallback to an empty payload is never taken; the raw
    /// subscription path goes through `ReceivedMessage.materialized()`, which would throw instead.
    var encodedPayload: [UInt8] { (try? EnvelopeCodec.encode(envelope)) ?? [] }
}
