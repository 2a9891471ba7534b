/// A message's payload and headers left where a backend's client library fetched them.
///
/// A broker backend's fetch thread would otherwise copy every payload and header before the pool
/// sees the message, and the handling thread would free those copies: allocating on one thread and
/// freeing on another makes both fight over the allocator's locks. Deferring the copy to the thread
/// that handles the message keeps the allocation and its release together, and lets one backend
/// object stand for a whole fetch.
package protocol DeferredMessageContent: AnyObject, Sendable {
    /// The payload and headers of message `index` of this fetch.
    func content(at index: Int) -> (payload: [UInt8], headers: [MessageHeader])

    /// The payload of message `index`; by default through ``content(at:)``.
    func payload(at index: Int) -> [UInt8]

    /// The headers of message `index`; by default through ``content(at:)``.
    func headers(at index: Int) -> [MessageHeader]

    /// Calls `body` with the bytes of message `index`'s payload, valid only inside `body`; by
    /// default with a copy.
    func withPayload<Value, Failure: Error>(
        at index: Int, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value

    /// Calls `body` with the bytes of message `index`'s payload, valid only inside `body`; by
    /// default through ``withPayload(at:_:)``. Not generic, so that a call through
    /// `any DeferredMessageContent` needs no generic metadata: ``withPayload(at:_:)`` called that
    /// way runs unspecialized (`swift_getGenericMetadata` and boxed results a message, 16 % of the
    /// handling threads in a Kafka consume profile on 2026-11-30, against 9 % for copying the
    /// payload out).
    func readPayload(at index: Int, _ body: (UnsafeRawBufferPointer) -> Void)

    /// Whether the content stays readable, from any thread, for as long as a message refers to
    /// this source, so that the pool need not copy it out before the handler runs and a handler
    /// that reads only the payload never has the headers built. False by default: the pool copies
    /// both on the handling thread (``ReceivedMessage/copyDeferredContent()``).
    var readsOnDemand: Bool { get }
}

extension DeferredMessageContent {
    package func payload(at index: Int) -> [UInt8] { content(at: index).payload }

    package func headers(at index: Int) -> [MessageHeader] { content(at: index).headers }

    package func withPayload<Value, Failure: Error>(
        at index: Int, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        let payload = self.payload(at: index)
        // Array's `withUnsafeBytes` rethrows untyped errors: carried out as a typed Result.
        let result = payload.withUnsafeBytes { bytes in Result { () throws(Failure) in try body(bytes) } }
        return try result.get()
    }

    package func readPayload(at index: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        withPayload(at: index, body)
    }

    package var readsOnDemand: Bool { false }
}
