/// The per-message work both sides of the consume comparison do: read every payload byte, as a
/// handler that decodes its message must, and check the sum, so the read cannot be optimised away.
///
/// Both read the bytes where librdkafka left them: raw from its message, the bus's handler through
/// `ReceivedMessage.withUnsafePayloadBytes` (since 2026-11-30 the bus leaves fetched content in
/// librdkafka's buffers until a handler asks). Before that the bus's handler read `payload`, an
/// array copied out for it, which raw does not make; and before the same morning the raw loop read
/// only the length and the bus's handler nothing, while the bus copied every payload out for its
/// handler: the two sides did different work with the bytes.
enum PayloadChecksum {
    /// Sums `bytes` and traps if a non-empty payload sums to zero (the comparison's payloads are
    /// all `x`).
    @inline(never)
    static func verify(_ bytes: UnsafeRawBufferPointer) {
        var sum = 0
        for byte in bytes { sum &+= Int(byte) }
        precondition(bytes.isEmpty || sum > 0, "payload read as zeros")
    }
}
