import CNats
import EventBus
import Foundation
import Synchronization

/// One durable pull consumer read on a thread of its own by `RawNATSClient.endToEnd`, recording
/// how long each message took from its publish to its read.
final class RawPullConsumer: Sendable {
    struct Outcome {
        var latencies: [UInt64] = []
        var lastRead: UInt64 = 0
        var failure: RawNATSClient.RawError?
    }

    // Safe because: the handle is used only by `run()` on the consumer's one thread, and destroyed
    // in deinit after that thread ended (`waitForEnd()`).
    nonisolated(unsafe) private let subscription: OpaquePointer
    private let expected: Int
    private let batch: Int
    /// Whether payloads are envelopes whose timestamp is the publish time (else the first 8 bytes are).
    private let envelopes: Bool
    private let outcome = Mutex(Outcome())
    private let finished = DispatchSemaphore(value: 0)

    init(
        jetStream: OpaquePointer, subject: String, durable: String, expected: Int, batch: Int, envelopes: Bool = false
    ) throws {
        subscription = try RawNATSClient.pullSubscribe(jetStream, subject: subject, durable: durable)
        self.expected = expected
        self.batch = batch
        self.envelopes = envelopes
    }

    /// Fetches and acks until every expected message was read.
    func run() {
        var result = Outcome()
        result.latencies.reserveCapacity(expected)
        var jsError = jsErrCode(0)
        while result.latencies.count < expected {
            var list = natsMsgList()
            let status = natsSubscription_Fetch(&list, subscription, Int32(batch), 5000, &jsError)
            if status != NATS_OK && status != NATS_TIMEOUT {
                result.failure = RawNATSClient.RawError("fetch", status)
                break
            }
            let now = DispatchTime.now().uptimeNanoseconds
            for index in 0..<Int(list.Count) {
                let message = list.Msgs[index]
                var published: UInt64 = 0
                if envelopes, let data = natsMsg_GetData(message) {
                    let bytes = UnsafeRawBufferPointer(start: data, count: Int(natsMsg_GetDataLength(message)))
                    if let envelope = try? EnvelopeCodec.decode(bytes) {
                        published = UInt64(envelope.timestamp.nanosecondsSinceEpoch)
                    }
                } else if natsMsg_GetDataLength(message) >= 8, let data = natsMsg_GetData(message) {
                    withUnsafeMutableBytes(of: &published) {
                        $0.copyMemory(from: UnsafeRawBufferPointer(start: data, count: 8))
                    }
                }
                result.latencies.append(now &- published)
                _ = natsMsg_Ack(message, nil)
            }
            result.lastRead = now
            natsMsgList_Destroy(&list)
        }
        outcome.withLock { $0 = result }
        finished.signal()
    }

    /// Waits for `run()` to end and returns what it measured.
    func waitForEnd() -> Outcome {
        finished.wait()
        return outcome.withLock { $0 }
    }

    deinit { natsSubscription_Destroy(subscription) }
}
