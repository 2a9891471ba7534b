/// Encodes and decodes ``Envelope``s in the jxt-core JSON wire format.
///
/// PLACEHOLDER: being written in the codec work item; the signatures are final.
public enum EnvelopeCodec {
    /// The envelope as JSON bytes; validates first.
    public static func encode(_ envelope: Envelope) throws(EventBusError) -> [UInt8] {
        throw EventBusError(.invalidEnvelope, "codec not written yet")
    }

    /// Decodes and validates an envelope from JSON bytes.
    public static func decode(_ bytes: [UInt8]) throws(EventBusError) -> Envelope {
        throw EventBusError(.malformedEnvelope, "codec not written yet")
    }
}
