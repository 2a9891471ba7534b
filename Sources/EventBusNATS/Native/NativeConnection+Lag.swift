import CNats
import EventBus
import Foundation

extension NativeConnection {
    /// JetStream's error code for a consumer that does not exist.
    private static let consumerNotFound = 10014

    /// Messages durable consumer `name` of `stream` still has to deliver or have acknowledged:
    /// `num_pending + num_ack_pending` from its info; nil when the consumer does not exist. Blocks.
    func consumerBacklog(stream: String, name: String, timeout: Duration) throws(EventBusError) -> Int64? {
        let answer = try jetStreamAnswer(
            "$JS.API.CONSUMER.INFO.\(stream).\(name)", body: "", timeout: timeout, failure: .connectionFailed)
        if let error = answer["error"] as? [String: Any] {
            if error["err_code"] as? Int == Self.consumerNotFound { return nil }
            throw Self.apiError(error, while: "reading consumer '\(name)' of stream '\(stream)'")
        }
        let pending = (answer["num_pending"] as? NSNumber)?.int64Value ?? 0
        let unacknowledged = (answer["num_ack_pending"] as? NSNumber)?.int64Value ?? 0
        return pending + unacknowledged
    }

    /// Whether durable consumer `name` of `stream` is missing on the server (its info says
    /// "consumer not found"). Asked when a pull got no answer at all: nats-server answers a
    /// consumer's open pulls `409 Consumer Deleted` when it is deleted, but a pull sent to a
    /// consumer that does not exist (deleted while none was open, or lost with the server's state)
    /// is taken by the server's own `$JS.API.>` subscription and never answered, not even with a
    /// `503`. False when the server does not answer within `timeout`. Blocks.
    func consumerIsGone(stream: String, name: String, timeout: Duration) -> Bool {
        do {
            return try consumerBacklog(stream: stream, name: name, timeout: timeout) == nil
        } catch {
            return false
        }
    }

    /// Messages `stream` holds on subjects matching `filter`, from the stream's per-subject counts.
    /// Blocks.
    func storedMessages(stream: String, filter: String, timeout: Duration) throws(EventBusError) -> Int64 {
        let body = "{\"subjects_filter\":\"\(filter)\"}"
        let answer = try jetStreamAnswer(
            "$JS.API.STREAM.INFO.\(stream)", body: body, timeout: timeout, failure: .connectionFailed)
        if let error = answer["error"] as? [String: Any] {
            throw Self.apiError(error, while: "reading stream '\(stream)'")
        }
        let subjects = (answer["state"] as? [String: Any])?["subjects"] as? [String: Any] ?? [:]
        return subjects.values.reduce(0) { $0 + (($1 as? NSNumber)?.int64Value ?? 0) }
    }

    private static func apiError(_ error: [String: Any], while operation: String) -> EventBusError {
        let description = error["description"] as? String ?? "unknown error"
        let code = error["err_code"] as? Int ?? 0
        return EventBusError(
            .nativeError, "JetStream refused \(operation): \(description) (JetStream error \(code))",
            isRetriable: (error["code"] as? Int).map { $0 >= 500 } ?? false)
    }
}
