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
}
