import CNats
import Foundation
import Synchronization

extension RawNATSClient {
    /// What a raw end-to-end run measured: wall time from the first publish to the last message
    /// read, and each message's time from just before its publish call to its read.
    struct EndToEndResult {
        var seconds: Double
        var latencies: [UInt64]
    }

    /// Publishes `count` messages round-robin over `subjects` with at most `window` waiting for
    /// their PubAck, while one thread per subject reads a durable pull consumer (fetch of `batch`,
    /// ack each): the pressure workload's shape with nothing but nats.c in between.
    ///
    /// Each payload starts with its publish time, so latency is measured the way the pressure runs
    /// measure the bus: from before the publish call to the message in the consumer's hands.
    ///
    /// With `rate` (messages per second) the run is paced instead: message `index` is due at
    /// `index / rate` seconds after the start, the publisher sleeps until then when early, and the
    /// payload carries the due time, so a late publisher shows as latency.
    func endToEnd(
        stream: String, subjects: [String], count: Int, payloadSize: Int, window: Int, batch: Int, rate: Int? = nil
    ) throws -> EndToEndResult {
        var options = jsOptions()
        jsOptions_Init(&options)
        options.PublishAsync.MaxPending = Int64(window)
        var contextPointer: OpaquePointer?
        let status = natsConnection_JetStream(&contextPointer, connection, &options)
        guard status == NATS_OK, let publishContext = contextPointer else { throw RawError("jetstream", status) }
        defer { jsCtx_Destroy(publishContext) }

        let perSubject = (0..<subjects.count).map { index in
            (count - index + subjects.count - 1) / subjects.count
        }
        let consumers = try subjects.enumerated().map { index, subject in
            try RawPullConsumer(
                jetStream: jetStream, subject: subject, durable: "e2e\(index)", expected: perSubject[index],
                batch: batch)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let threads = consumers.map { consumer in Thread { consumer.run() } }
        for thread in threads { thread.start() }

        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: max(8, payloadSize))
        for index in 0..<count {
            let subject = subjects[index % subjects.count]
            let id = "\(stream)-\(index)"
            var now = DispatchTime.now().uptimeNanoseconds
            if let rate {
                let due = start + UInt64((Double(index) * 1e9 / Double(rate)).rounded())
                if now < due, due - now < 1_000_000_000 { usleep(UInt32((due - now) / 1000)) }
                now = due
            }
            withUnsafeBytes(of: &now) { payload.replaceSubrange(0..<8, with: $0) }
            try Self.publishOne(through: publishContext, subject: subject, payload: payload, id: id)
        }
        try Self.completePublishes(of: publishContext)

        var latencies: [UInt64] = []
        var last = start
        for consumer in consumers {
            let outcome = consumer.waitForEnd()
            if let failure = outcome.failure { throw failure }
            latencies += outcome.latencies
            last = max(last, outcome.lastRead)
        }
        return EndToEndResult(seconds: Double(last - start) / 1e9, latencies: latencies)
    }
}
