import CNats
import Dispatch
import EventBus
import Synchronization

/// Maps each publish waiting for its PubAck to the ``PublishCompletion`` of the call that sent it.
///
/// Keyed by the number `n` of the message's reply subject `<inbox>.<n>` (see ``NativePublisher``),
/// which the publishing thread counts up and never reuses while the connection lives. Holds the
/// subject and headers too, so a duplicate PubAck can name the subject and `Nats-Msg-Id`.
///
/// One thread at a time may wait for room (``waitUntil(atMost:timeout:)``): the publishing thread,
/// and after it stopped, shutdown. A second waiter would only lose its wake-up and wait its full
/// (bounded) timeout.
package final class NativePendingPublishes: Sendable {
    package struct Entry {
        package let completion: PublishCompletion
        let sentAt: ContinuousClock.Instant
        let subject: String
        let headers: [MessageHeader]
    }

    private struct Table {
        var entries: [UInt64: Entry] = [:]
        /// A waiter wants at most this many entries; cleared by whoever wakes it.
        var waitingFor: Int?

        /// Whether removing entries satisfied the waiter: then it is cleared and must be signalled.
        mutating func wakesWaiter() -> Bool {
            guard let limit = waitingFor, entries.count <= limit else { return false }
            waitingFor = nil
            return true
        }
    }

    private let table = Mutex(Table())
    private let room = DispatchSemaphore(value: 0)
    /// Told the subject and `Nats-Msg-Id` of each publish the server acknowledged as a duplicate.
    let onDuplicate: @Sendable (_ subject: String, _ messageID: String?) -> Void

    package init(onDuplicate: @escaping @Sendable (_ subject: String, _ messageID: String?) -> Void = { _, _ in }) {
        self.onDuplicate = onDuplicate
    }

    /// Registers publish `id` unless `limit` publishes already wait; returns whether it did.
    package func register(
        _ id: UInt64, subject: String, headers: [MessageHeader], _ completion: PublishCompletion, limit: Int
    ) -> Bool {
        let entry = Entry(completion: completion, sentAt: .now, subject: subject, headers: headers)
        return table.withLock { table in
            guard table.entries.count < limit else { return false }
            table.entries[id] = entry
            return true
        }
    }

    /// Removes and returns the entry waiting for PubAck `id`, if it is still waiting.
    package func remove(_ id: UInt64) -> Entry? {
        // The entry is returned alone, not in a tuple with `wake`: taking it out of a tuple
        // copied it (a retain and a release of each of its three references, ~1.9 % of a NATS
        // run's CPU under perf; `Docs/PerformanceLog.md`, "Session 13").
        var wake = false
        let entry = table.withLock { table -> Entry? in
            let entry = table.entries.removeValue(forKey: id)
            wake = entry != nil && table.wakesWaiter()
            return entry
        }
        if wake { room.signal() }
        return entry
    }

    /// Removes and returns the completions of publishes that waited longer than `timeout`.
    package func removeOverdue(_ timeout: Duration) -> [PublishCompletion] {
        let now = ContinuousClock.now
        let (overdue, wake) = table.withLock { table -> ([PublishCompletion], Bool) in
            guard table.entries.values.contains(where: { now - $0.sentAt > timeout }) else { return ([], false) }
            var overdue: [PublishCompletion] = []
            table.entries = table.entries.filter { _, entry in
                guard now - entry.sentAt > timeout else { return true }
                overdue.append(entry.completion)
                return false
            }
            return (overdue, table.wakesWaiter())
        }
        if wake { room.signal() }
        return overdue
    }

    /// Blocks until at most `count` publishes wait for a PubAck, or `timeout` passed; returns
    /// whether at most `count` wait. May return false early (a wake-up left over from an earlier
    /// wait): callers loop.
    package func waitUntil(atMost count: Int, timeout: Duration) -> Bool {
        let ready = table.withLock { table -> Bool in
            if table.entries.count <= count { return true }
            table.waitingFor = count
            return false
        }
        if ready { return true }
        _ = room.wait(timeout: .now() + .nanoseconds(Int(clamping: max(timeout, .zero).nanoseconds)))
        return table.withLock { table in
            table.waitingFor = nil
            return table.entries.count <= count
        }
    }

    /// Fails every publish still waiting: used when the connection is closed for good.
    package func failAll(_ error: EventBusError) {
        let (waiting, wake) = table.withLock { table -> ([PublishCompletion], Bool) in
            let values = table.entries.values.map(\.completion)
            table.entries.removeAll()
            return (values, table.wakesWaiter())
        }
        if wake { room.signal() }
        for completion in waiting { completion.finish(error: error) }
    }

    package var count: Int { table.withLock { $0.entries.count } }
}

/// The reply subscription's callback: settles the publish a PubAck (or a no-responders status)
/// answers, then frees the reply on this thread (see ``releaseNativeMessage(_:)``).
///
/// Replies come to `<inbox>.<n>`; `n` finds the entry. A positive ack (duplicates included: the
/// server already holds the event) completes it, and a duplicate is reported to
/// ``NativePendingPublishes/onDuplicate`` (the server stored nothing: a caller that meant a new
/// message, such as a replay keeping the original ID, must hear of it); a refusal fails it with the
/// server's JetStream error code, not retriably, as nats.c's `jsPubAckErr` (status `NATS_ERR`) was;
/// no responders (no stream captures the subject) fails it retriably. A reply that matches no entry
/// (its publish timed out already) is dropped. Missing acks are timed out by ``NativePublisher``'s
/// sweep.
func nativePublishAckHandler(
    _ connection: OpaquePointer?, _ subscription: OpaquePointer?, _ message: OpaquePointer?,
    _ closure: UnsafeMutableRawPointer?
) {
    guard let message else { return }
    defer { releaseNativeMessage(message) }
    guard let closure, let subject = natsMsg_GetSubject(message), let id = nativeReplyNumber(subject) else { return }
    // Unretained: the subscription holds a retain until its completion callback.
    let pending = Unmanaged<NativePendingPublishes>.fromOpaque(closure).takeUnretainedValue()
    guard let entry = pending.remove(id) else { return }
    if natsMsg_IsNoResponders(message) {
        entry.completion.finish(
            error: NativeError.make(
                .publishFailed, "JetStream publish not acknowledged", status: NATS_NO_RESPONDERS,
                text: NativeError.text(NATS_NO_RESPONDERS)))
        return
    }
    let length = Int(natsMsg_GetDataLength(message))
    let ack = NativePubAck.parse(UnsafeRawBufferPointer(start: natsMsg_GetData(message), count: max(0, length)))
    switch ack {
    case .stored(_, let duplicate):
        if duplicate { pending.onDuplicate(entry.subject, NativeHeaders.messageID(of: entry.headers)) }
        entry.completion.finish(error: nil)
    case .rejected(_, let errorCode, let description):
        entry.completion.finish(
            error: NativeError.make(
                .publishFailed, "JetStream publish not acknowledged", status: NATS_ERR,
                jsError: jsErrCode(UInt32(clamping: errorCode)), text: description))
    case .unreadable:
        // The server may hold the message: publishing it again (same Nats-Msg-Id) is safe.
        entry.completion.finish(
            error: EventBusError(.publishFailed, "unreadable PubAck from the server", isRetriable: true))
    }
}

/// The `n` of a reply subject `<inbox>.<n>`; nil when the last token is not a number that fits.
package func nativeReplyNumber(_ subject: UnsafePointer<CChar>) -> UInt64? {
    var value: UInt64? = nil
    var pointer = subject
    while pointer.pointee != 0 {
        let byte = UInt8(bitPattern: pointer.pointee)
        pointer += 1
        if byte == UInt8(ascii: ".") {
            value = 0
            continue
        }
        guard let current = value, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
            // Not a number: skip to the next token.
            value = nil
            while pointer.pointee != 0, pointer.pointee != CChar(UInt8(ascii: ".")) { pointer += 1 }
            continue
        }
        let (times, overflow) = current.multipliedReportingOverflow(by: 10)
        let (sum, carry) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
        value = overflow || carry ? nil : sum
        if value == nil { while pointer.pointee != 0, pointer.pointee != CChar(UInt8(ascii: ".")) { pointer += 1 } }
    }
    // `value` is 0 right after a dot: an empty last token is no number.
    return pointer > subject && UInt8(bitPattern: (pointer - 1).pointee) != UInt8(ascii: ".") ? value : nil
}
