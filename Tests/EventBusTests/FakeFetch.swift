import EventBus
import Synchronization

/// Deferred content the way a broker backend provides it, counting how often each message was
/// copied out so tests can see where and how often the pool reads it.
final class FakeFetch: DeferredMessageContent {
    let payloads: [[UInt8]]
    private let copies = Mutex<[Int]>([])

    init(_ texts: [String]) {
        payloads = texts.map { Array($0.utf8) }
    }

    /// Indices copied out so far, in order.
    var copiedIndices: [Int] { copies.withLock { $0 } }

    func content(at index: Int) -> (payload: [UInt8], headers: [MessageHeader]) {
        copies.withLock { $0.append(index) }
        return (payloads[index], [MessageHeader(name: "X-Index", value: String(index))])
    }

    /// Message `index` of this fetch, its content left here.
    func message(_ index: Int, key: String) -> ReceivedMessage {
        ReceivedMessage(
            topic: "t", key: key, partition: 0, offset: Int64(index), deferredContent: self, index: index)
    }
}
