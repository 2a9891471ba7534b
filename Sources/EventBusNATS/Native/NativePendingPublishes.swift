import CNats
import EventBus
import Synchronization

/// Maps each in-flight `natsMsg` to the ``PublishCompletion`` of the call that sent it.
///
/// Keyed by the message's address: nats.c hands the same pointer back in the PubAck callback and
/// frees it only after that callback returned, so an address cannot be reused while its entry lives.
final class NativePendingPublishes: Sendable {
    private let entries = Mutex<[UInt: PublishCompletion]>([:])

    func register(_ message: OpaquePointer, _ completion: PublishCompletion) {
        let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(message)))
        entries.withLock { $0[key] = completion }
    }

    /// Removes and returns the completion waiting for `message`, if it is still waiting.
    func remove(_ message: OpaquePointer) -> PublishCompletion? {
        let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(message)))
        return entries.withLock { $0.removeValue(forKey: key) }
    }

    /// Fails every publish still waiting: used when the connection is closed for good.
    func failAll(_ error: EventBusError) {
        let waiting = entries.withLock { entries -> [PublishCompletion] in
            let values = Array(entries.values)
            entries.removeAll()
            return values
        }
        for completion in waiting { completion.finish(error: error) }
    }

    var count: Int { entries.withLock { $0.count } }
}

/// nats.c's PubAck callback: settles one message and frees it, as the AckHandler contract asks.
///
/// A positive ack (duplicates included: the server already holds the event) completes it; an error
/// or the library's MaxWait timeout fails it retriably unless the server rejected it outright.
func nativePublishAckHandler(
    _ js: OpaquePointer?, _ message: OpaquePointer?, _ ack: UnsafeMutablePointer<jsPubAck>?,
    _ failure: UnsafeMutablePointer<jsPubAckErr>?, _ closure: UnsafeMutableRawPointer?
) {
    guard let message else { return }
    defer { natsMsg_Destroy(message) }
    guard let closure else { return }
    // Unretained: the connection owns the pending table and outlives its JetStream context.
    let pending = Unmanaged<NativePendingPublishes>.fromOpaque(closure).takeUnretainedValue()
    guard let completion = pending.remove(message) else { return }
    if ack != nil {
        completion.finish(error: nil)
        return
    }
    guard let failure else {
        completion.finish(error: EventBusError(.publishFailed, "no PubAck and no error", isRetriable: true))
        return
    }
    let text = failure.pointee.ErrText.map { String(cString: $0) }
    let status = failure.pointee.Err
    let error = NativeError.make(
        .publishFailed, "JetStream publish not acknowledged", status: status, jsError: failure.pointee.ErrCode,
        text: text ?? NativeError.text(status))
    completion.finish(error: error)
}
