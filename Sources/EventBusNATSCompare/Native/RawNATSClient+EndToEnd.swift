import CNats
import EventBus
import EventBusPressureKit
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
    ///
    /// With `awaiting` (paced runs only) the publishers take the bus's paced shape instead
    /// (`PacedRunner`): one thread per subject sends everything of its subject that is due, then
    /// waits for all of those PubAcks before it looks at the clock again, as a task awaiting each
    /// `publish` call does. Without it one thread publishes all subjects with up to `window`
    /// PubAcks outstanding.
    ///
    /// With `envelopes` (pipelined runs only) each payload is instead a jxt-core envelope as the bus's
    /// workload sends it (a fresh UUIDv7 event ID, which is also the message's `X-Event-ID` and
    /// `Nats-Msg-Id`, aggregate `index % 1000`, the 41-byte event body), its timestamp the publish
    /// time, JSON-encoded before the publish call and decoded by the consumer, which takes the
    /// latency from the decoded timestamp: what the bus's envelope handling costs, on raw nats.c.
    func endToEnd(
        stream: String, subjects: [String], count: Int, payloadSize: Int, window: Int, batch: Int, rate: Int? = nil,
        awaiting: Bool = false, envelopes: Bool = false
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
                batch: batch, envelopes: envelopes)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let threads = consumers.map { consumer in Thread { consumer.run() } }
        for thread in threads { thread.start() }

        if awaiting, let rate {
            try publishAwaiting(
                stream: stream, subjects: subjects, count: count, payloadSize: payloadSize, window: window, rate: rate,
                start: start)
        } else {
            try publishPipelined(
                through: publishContext, stream: stream, subjects: subjects, count: count, payloadSize: payloadSize,
                rate: rate, start: start, envelopes: envelopes)
        }

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

    /// One thread, all subjects round-robin, up to the context's MaxPending PubAcks outstanding.
    private func publishPipelined(
        through publishContext: OpaquePointer, stream: String, subjects: [String], count: Int, payloadSize: Int,
        rate: Int?, start: UInt64, envelopes: Bool
    ) throws {
        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: max(8, payloadSize))
        for index in 0..<count {
            let subject = subjects[index % subjects.count]
            var now = DispatchTime.now().uptimeNanoseconds
            if let rate {
                let due = Self.dueTime(of: index, rate: rate, start: start)
                if now < due, due - now < 1_000_000_000 { usleep(UInt32((due - now) / 1000)) }
                now = due
            }
            if envelopes {
                let envelope = Envelope(
                    aggregateID: "agg-\(index % 1000)", eventType: "PressureTested",
                    eventVersion: Int64(index / 1000 + 1),
                    timestamp: EventTimestamp(nanosecondsSinceEpoch: Int64(now)), payload: PressureRunner.payload)
                try Self.publishOne(
                    through: publishContext, subject: subject, payload: try EnvelopeCodec.encode(envelope),
                    id: envelope.eventID)
                continue
            }
            withUnsafeBytes(of: &now) { payload.replaceSubrange(0..<8, with: $0) }
            try Self.publishOne(through: publishContext, subject: subject, payload: payload, id: "\(stream)-\(index)")
        }
        try Self.completePublishes(of: publishContext)
    }

    /// When message `index` of a paced run is due: `index / rate` seconds after `start`, in
    /// nanoseconds of the monotonic clock.
    private static func dueTime(of index: Int, rate: Int, start: UInt64) -> UInt64 {
        start + UInt64((Double(index) * 1e9 / Double(rate)).rounded())
    }

    /// One thread per subject, each with a JetStream context of its own: sends every message of its
    /// subject that is due, waits for their PubAcks, then sleeps until the next is due.
    private func publishAwaiting(
        stream: String, subjects: [String], count: Int, payloadSize: Int, window: Int, rate: Int, start: UInt64
    ) throws {
        let failure = FirstFailure()
        let handle = ConnectionHandle(pointer: connection)
        let finished = DispatchGroup()
        for subjectIndex in subjects.indices {
            finished.enter()
            Thread {
                defer { finished.leave() }
                do {
                    var options = jsOptions()
                    jsOptions_Init(&options)
                    options.PublishAsync.MaxPending = Int64(window)
                    var contextPointer: OpaquePointer?
                    let status = natsConnection_JetStream(&contextPointer, handle.pointer, &options)
                    guard status == NATS_OK, let context = contextPointer else { throw RawError("jetstream", status) }
                    defer { jsCtx_Destroy(context) }
                    var payload = [UInt8](repeating: UInt8(ascii: "x"), count: max(8, payloadSize))
                    var index = subjectIndex
                    while index < count {
                        let due = Self.dueTime(of: index, rate: rate, start: start)
                        let now = DispatchTime.now().uptimeNanoseconds
                        if now < due, due - now < 1_000_000_000 { usleep(UInt32((due - now) / 1000)) }
                        let sentAt = DispatchTime.now().uptimeNanoseconds
                        // Everything of this subject that is due by now, then wait for its PubAcks.
                        while index < count {
                            var stamp = Self.dueTime(of: index, rate: rate, start: start)
                            guard stamp <= sentAt else { break }
                            withUnsafeBytes(of: &stamp) { payload.replaceSubrange(0..<8, with: $0) }
                            try Self.publishOne(
                                through: context, subject: subjects[subjectIndex], payload: payload,
                                id: "\(stream)-\(index)")
                            index += subjects.count
                        }
                        try Self.completePublishes(of: context)
                    }
                } catch {
                    failure.record("\(error)")
                }
            }.start()
        }
        finished.wait()
        if let message = failure.message { throw RawError(message, NATS_ERR) }
    }
}

/// The connection, for the paced publisher threads: a nats.c connection may be used from any number
/// of threads at once (nats.c locks inside every call).
private struct ConnectionHandle: @unchecked Sendable {  // Safe because: nats.c connections are thread-safe.
    let pointer: OpaquePointer
}

/// The first failure of any publisher thread.
private final class FirstFailure: Sendable {
    private let first = Mutex<String?>(nil)
    func record(_ message: String) { first.withLock { $0 = $0 ?? message } }
    var message: String? { first.withLock { $0 } }
}
