extension ReceivedMessage {
    /// Calls `body` with the bytes of ``payload``, valid only inside `body`, without copying them
    /// out of a backend's buffers where the backend leaves fetched content there (Kafka, NATS).
    ///
    /// ``payload`` makes an array, an allocation and a copy a message; a handler that only parses
    /// or checks the bytes can read them here instead. The pointer must not escape `body`.
    @inlinable
    public func withUnsafePayloadBytes<Value, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        // Specialized in the caller; what is left below is not generic.
        var result: Result<Value, Failure>?
        readPayloadBytes { bytes in result = Result { () throws(Failure) in try body(bytes) } }
        return try result!.get()
    }

    /// ``withPayloadBytes(_:)`` without generics, for the inlined public entry above.
    @usableFromInline
    package func readPayloadBytes(_ body: (UnsafeRawBufferPointer) -> Void) {
        withPayloadBytes(body)
    }
}
