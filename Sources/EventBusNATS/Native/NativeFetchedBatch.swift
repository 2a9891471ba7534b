import CNats
import EventBus
import Synchronization

/// The data messages of one read of a pull inbox, kept as nats.c delivered them: their payloads
/// and headers are read from there when a handler asks, and the messages are freed when the last
/// reference goes (the partition reader's, until it acknowledged them, and each received message's).
///
/// Measured (2026-11-30, `perf record` over `eventbus-pressure --backend nats --messages 200000`):
/// converting each message on the fetch thread (payload copy, every header built as strings) was
/// a quarter of the partition readers' time, and freeing those copies on the handling threads,
/// which the envelope handler never reads but for the payload, a further share of the pool's.
///
/// Safe because: `handles` is set in `init` and never changes, and each handle is freed once, in
/// `deinit`, when nothing can refer to it any more. Everything else only reads bytes nats.c wrote
/// before the message was handed out (subject, reply, header block, payload), from any thread;
/// the one exception, reading a header block this reader does not parse in place through nats.c's
/// accessors (which lift it into a map inside the message), happens under `nativeHeaderLock`.
final class NativeFetchedBatch: DeferredMessageContent, @unchecked Sendable {
    private let handles: [OpaquePointer]
    private let nativeHeaderLock = Mutex(())

    /// The server's pin marker on every pinned delivery: not part of what was published.
    static let pinHeader: StaticString = "Nats-Pin-Id"

    /// Takes ownership of `handles`, which nats.c handed out (`natsSubscription_NextMsg`).
    init(_ handles: [OpaquePointer]) {
        self.handles = handles
    }

    deinit {
        for handle in handles { releaseNativeMessage(handle) }
    }

    /// Message `index`'s handle, valid while this batch lives.
    func handle(at index: Int) -> OpaquePointer { handles[index] }

    /// Message `index`'s key: its `X-Key`, else its `X-Aggregate-ID` (see ``NativeHeaders/messageKey(of:)``).
    func key(at index: Int) -> String? {
        switch NativeHeaders.messageKey(of: handles[index]) {
        case .key(let key): return key
        case .unreadable:
            var headers = nativeHeaderLock.withLock { _ in NativeHeaders.read(handles[index]) }
            return NativeHeaders.takeKey(from: &headers)
        }
    }

    /// The value of the last `Nats-Pin-Id` header of message `index`, read in wire order (nats.c's
    /// accessor would lift the header block into its hash map and lose their order).
    func pin(at index: Int) -> String? {
        let headers =
            NativeHeaders.readInPlace(handles[index])
            ?? nativeHeaderLock.withLock { _ in NativeHeaders.read(handles[index]) }
        return headers.last { $0.name == Self.pinHeader.description }?.value
    }

    var readsOnDemand: Bool { true }

    func content(at index: Int) -> (payload: [UInt8], headers: [MessageHeader]) {
        (payload(at: index), headers(at: index))
    }

    func payload(at index: Int) -> [UInt8] {
        withPayload(at: index) { [UInt8]($0) }
    }

    /// The headers as published: without the server's `Nats-Pin-Id`, and without `X-Key`, which
    /// carries the message's key on the wire and is not one of its headers.
    func headers(at index: Int) -> [MessageHeader] {
        let handle = handles[index]
        var headers =
            NativeHeaders.readInPlace(handle, droppingLast: Self.pinHeader)
            ?? nativeHeaderLock.withLock { _ in NativeHeaders.read(handle, droppingLast: Self.pinHeader) }
        _ = NativeHeaders.removeKey(from: &headers)
        return headers
    }

    func withPayload<Value, Failure: Error>(
        at index: Int, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        let handle = handles[index]
        let length = Int(natsMsg_GetDataLength(handle))
        guard length > 0, let data = natsMsg_GetData(handle) else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return try body(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// The non-generic read that `ReceivedMessage.withPayloadBytes` (the envelope handler's
    /// in-place decode) calls through the protocol: without it, the protocol's default ran the
    /// generic ``withPayload(at:_:)`` unspecialized on every message.
    func readPayload(at index: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        withPayload(at: index, body)
    }
}
