import CNats
import EventBus
import Foundation

/// JetStream API calls that nats.c 3.4 has no functions for (priority groups, consumer reset and
/// unpin arrived in nats-server 2.11 and 2.14, in nats.c only from 3.11 and 3.13): plain
/// request/reply on `$JS.API.…` with the JSON bodies of the JetStream API reference. Control plane
/// only, never per message.
extension NativeConnection {
    /// The oldest nats-server whose API the partitioned consumer groups use: pinned-client priority
    /// groups (2.11) and `$JS.API.CONSUMER.RESET` (2.14).
    static let minimumPartitionedServer = (major: 2, minor: 14)

    /// Sends `body` to `subject` and returns the decoded JSON answer; throws the API's own error
    /// (`{"error":{"code","err_code","description"}}`) as `subscribeFailed`. Blocks.
    func jetStreamRequest(_ subject: String, body: String, timeout: Duration = .seconds(5)) throws(EventBusError)
        -> [String: Any]
    {
        let object = try jetStreamAnswer(subject, body: body, timeout: timeout, failure: .subscribeFailed)
        if let error = object["error"] as? [String: Any] {
            let description = error["description"] as? String ?? "unknown error"
            let code = error["err_code"] as? Int ?? 0
            throw EventBusError(
                .subscribeFailed, "JetStream refused \(subject): \(description) (JetStream error \(code))",
                isRetriable: (error["code"] as? Int).map { $0 >= 500 } ?? false)
        }
        return object
    }

    /// Sends `body` to `subject` and returns the decoded JSON answer as it is, API errors included;
    /// throws `failure` when no answer came or it is not a JSON object. Blocks.
    func jetStreamAnswer(
        _ subject: String, body: String, timeout: Duration = .seconds(5), failure: EventBusError.Code
    ) throws(EventBusError) -> [String: Any] {
        var reply: OpaquePointer?
        let status = natsConnection_RequestString(&reply, connection, subject, body, max(1, timeout.milliseconds))
        guard status == NATS_OK, let reply else {
            throw NativeError.make(failure, "JetStream request \(subject) failed", status: status)
        }
        defer { natsMsg_Destroy(reply) }
        let length = Int(natsMsg_GetDataLength(reply))
        let data = natsMsg_GetData(reply).map { Data(bytes: $0, count: length) } ?? Data()
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EventBusError(failure, "JetStream answered \(subject) with something that is not a JSON object")
        }
        return object
    }

    /// Creates (or updates to the same settings) the durable consumer `name` of one partition lane:
    /// filter `filter`, ack policy `all`, one pinned client per consumer in priority group `group`
    /// with `memberTimeout` as the pin's time to live. Checks that the server understood the
    /// priority settings and is new enough to reset a consumer. Blocks.
    ///
    /// `startSequence`, when given, makes a missing consumer start at that stream sequence instead
    /// of the stream's first message (a consumer deleted underneath a member is recreated after the
    /// last run the member acknowledged); a consumer that exists by then (another member recreated
    /// it first) is taken as it is.
    ///
    /// Returns what the server reports of the consumer when this call created it (or found it with
    /// exactly these settings): the stream sequence of its ack floor, and whether it has never
    /// delivered a message (`delivered.consumer_seq` 0); nil when it took a consumer with other
    /// settings as it is. A consumer the server created over a stored state it still held under the
    /// same name starts from that state, not at `startSequence`; see
    /// ``NativePartitionReader/recreateConsumer(lane:)``.
    @discardableResult
    func ensureLaneConsumer(
        stream: String, name: String, filter: String, group: String,
        settings: NATSConfiguration.ConsumerSettings, startSequence: Int64? = nil
    ) throws(EventBusError) -> (ackFloor: Int64, neverDelivered: Bool)? {
        var config: [String: Any] = [
            "durable_name": name,
            "name": name,
            "filter_subject": filter,
            "deliver_policy": "all",
            "ack_policy": "all",
            "ack_wait": settings.ackWait.nanoseconds,
            "max_deliver": settings.maxDeliver,
            "max_ack_pending": settings.maxAckPending,
            "max_waiting": 512,
            "priority_groups": [group],
            "priority_policy": "pinned_client",
            "priority_timeout": settings.memberTimeout.nanoseconds,
        ]
        if let startSequence {
            config["deliver_policy"] = "by_start_sequence"
            config["opt_start_seq"] = startSequence
        }
        let body = Self.json(["stream_name": stream, "config": config])
        let answer: [String: Any]
        do {
            answer = try jetStreamRequest("$JS.API.CONSUMER.CREATE.\(stream).\(name).\(filter)", body: body)
        } catch {
            guard startSequence != nil,
                (try? jetStreamRequest("$JS.API.CONSUMER.INFO.\(stream).\(name)", body: "")) != nil
            else { throw error }
            return nil
        }
        let created = answer["config"] as? [String: Any]
        let metadata = created?["metadata"] as? [String: Any]
        let version = (metadata?["_nats.ver"] as? String) ?? "older than 2.11"
        guard created?["priority_policy"] as? String == "pinned_client",
            Self.isAtLeast(version, Self.minimumPartitionedServer)
        else {
            throw EventBusError(
                .unsupported,
                "nats-server \(version) cannot run partitioned consumer groups; they need nats-server 2.14 or newer "
                    + "(pinned-client priority groups and consumer reset)")
        }
        let floor = answer["ack_floor"] as? [String: Any]
        let delivered = answer["delivered"] as? [String: Any]
        return (
            ackFloor: (floor?["stream_seq"] as? NSNumber)?.int64Value ?? 0,
            neverDelivered: (delivered?["consumer_seq"] as? NSNumber)?.int64Value == 0
        )
    }

    /// Rewinds consumer `name` to its ack floor: every message after the last acknowledged one is
    /// delivered again, in stream order, before anything newer. With `sequence`, moves it to that
    /// stream sequence instead, forgetting what it delivered and acknowledged (the server refuses a
    /// sequence below a `by_start_sequence` consumer's start). Returns the stream sequence it
    /// restarts at. Blocks.
    @discardableResult
    func resetConsumer(stream: String, name: String, to sequence: Int64? = nil) throws(EventBusError) -> Int64 {
        let body = sequence.map { Self.json(["seq": $0]) } ?? ""
        let answer = try jetStreamRequest("$JS.API.CONSUMER.RESET.\(stream).\(name)", body: body)
        return (answer["reset_seq"] as? NSNumber)?.int64Value ?? 0
    }

    /// Lets go of the pinned client of `group` on consumer `name`, so the next waiting member is
    /// pinned at once instead of after the pin's time to live. Blocks.
    func unpinConsumer(stream: String, name: String, group: String) throws(EventBusError) {
        _ = try jetStreamRequest("$JS.API.CONSUMER.UNPIN.\(stream).\(name)", body: Self.json(["group": group]))
    }

    /// Adds `subjects` to stream `name` when it lacks them (a stream made before topics had
    /// partitions). Blocks.
    func addStreamSubjects(_ subjects: [String], to name: String) throws(EventBusError) -> [String] {
        let info = try jetStreamRequest("$JS.API.STREAM.INFO.\(name)", body: "")
        guard var config = info["config"] as? [String: Any] else {
            throw EventBusError(.nativeError, "stream '\(name)' info has no config")
        }
        var current = config["subjects"] as? [String] ?? []
        let missing = subjects.filter { !current.contains($0) }
        guard !missing.isEmpty else { return current }
        current += missing
        config["subjects"] = current
        _ = try jetStreamRequest("$JS.API.STREAM.UPDATE.\(name)", body: Self.json(config))
        return current
    }

    private static func json(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether a version string `major.minor.patch[-suffix]` is at least `minimum`.
    static func isAtLeast(_ version: String, _ minimum: (major: Int, minor: Int)) -> Bool {
        let parts = version.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? -1 }
        guard parts.count >= 2 else { return false }
        return parts[0] > minimum.major || (parts[0] == minimum.major && parts[1] >= minimum.minor)
    }
}
