import CNats
import EventBus
import Synchronization

/// Maps each in-flight `natsMsg` to the ``PublishCompletion`` of the call that sent it.
///
/// Keyed by the message's address: nats.c hands the same pointer back in the PubAck callback and
/// frees it only after that callback returned, so an address cannot be reused while its entry lives.
final class NativePendingPublishes: Sendable {
    private struct Entry {
        let completion: PublishCompletion
        let sentAt: ContinuousClock.Instant
    }

    private let entries = Mutex<[UInt: Entry]>([:])
    /// Told the subject and `Nats-Msg-Id` of each publish the server acknowledged as a duplicate.
    let onDuplicate: @Sendable (_ subject: String, _ messageID: String?) -> Void

    init(onDuplicate: @escaping @Sendable (_ subject: String, _ messageID: String?) -> Void = { _, _ in }) {
        self.onDuplicate = onDuplicate
    }

    private static func key(_ message: OpaquePointer) -> UInt {
        UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(message)))
    }

    func register(_ message: OpaquePointer, _ completion: PublishCompletion) {
        let entry = Entry(completion: completion, sentAt: .now)
        entries.withLock { $0[Self.key(message)] = entry }
    }

    /// Removes and returns the completion waiting for `message`, if it is still waiting.
    func remove(_ message: OpaquePointer) -> PublishCompletion? {
        entries.withLock { $0.removeValue(forKey: Self.key(message))?.completion }
    }

    /// Whether some publish has waited longer than `timeout` for its PubAck.
    func hasOverdue(_ timeout: Duration) -> Bool {
        let now = ContinuousClock.now
        return entries.withLock { $0.values.contains { now - $0.sentAt > timeout } }
    }

    /// Removes and returns the completion of `message` if it has waited longer than `timeout`.
    func removeIfOverdue(_ message: OpaquePointer, _ timeout: Duration) -> PublishCompletion? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            let key = Self.key(message)
            guard let entry = entries[key], now - entry.sentAt > timeout else { return nil }
            entries[key] = nil
            return entry.completion
        }
    }

    /// Fails every publish still waiting: used when the connection is closed for good.
    func failAll(_ error: EventBusError) {
        let waiting = entries.withLock { entries -> [PublishCompletion] in
            let values = entries.values.map(\.completion)
            entries.removeAll()
            return values
        }
        for completion in waiting { completion.finish(error: error) }
    }

    var count: Int { entries.withLock { $0.count } }
}

/// nats.c's PubAck callback: settles one message and frees it, as the AckHandler contract asks.
///
/// A positive ack (duplicates included: the server already holds the event) completes it, and a
/// duplicate is reported to ``NativePendingPublishes/onDuplicate`` (the server stored nothing: a
/// caller that meant a new message, such as a replay keeping the original ID, must hear of it); an error
/// fails it, retriably unless the server rejected it outright. Missing acks are timed out by
/// ``NativePublisher``'s sweep, not by nats.c's per-message MaxWait (which allocates a timer entry per
/// message and later replays a timeout message for every one of them, acknowledged or not).
func nativePublishAckHandler(
    _ js: OpaquePointer?, _ message: OpaquePointer?, _ ack: UnsafeMutablePointer<jsPubAck>?,
    _ failure: UnsafeMutablePointer<jsPubAckErr>?, _ closure: UnsafeMutableRawPointer?
) {
    guard let message else { return }
    defer { releaseNativeMessage(message) }
    guard let closure else { return }
    // Unretained: the connection owns the pending table and outlives its JetStream context.
    let pending = Unmanaged<NativePendingPublishes>.fromOpaque(closure).takeUnretainedValue()
    guard let completion = pending.remove(message) else { return }
    if let ack {
        if ack.pointee.Duplicate {
            let subject = natsMsg_GetSubject(message).map { String(cString: $0) } ?? ""
            var value: UnsafePointer<CChar>?
            let messageID =
                natsMsgHeader_Get(message, NativeHeaders.messageID, &value) == NATS_OK
                ? value.map { String(cString: $0) } : nil
            pending.onDuplicate(subject, messageID)
        }
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
