import CNats
import EventBus

/// Translates nats.c statuses and JetStream error codes into `EventBusError`; the one place that
/// decides which native failures are worth retrying.
enum NativeError {
    /// Statuses that a later attempt may not see: connection trouble, timeouts, missing responders
    /// while JetStream restarts, a full reconnect buffer.
    static func isRetriable(_ status: natsStatus) -> Bool {
        switch status {
        case NATS_TIMEOUT, NATS_CONNECTION_CLOSED, NATS_CONNECTION_DISCONNECTED, NATS_NO_SERVER,
            NATS_STALE_CONNECTION, NATS_NO_RESPONDERS, NATS_INSUFFICIENT_BUFFER, NATS_IO_ERROR,
            NATS_SLOW_CONSUMER, NATS_SECURE_CONNECTION_WANTED:
            return true
        default:
            return false
        }
    }

    /// The text nats.c gives for a status.
    static func text(_ status: natsStatus) -> String {
        String(cString: natsStatus_GetText(status))
    }

    /// The last error nats.c recorded on this thread, with its context, or the status text.
    static func lastErrorText(_ status: natsStatus) -> String {
        var lastStatus = NATS_OK
        if let text = nats_GetLastError(&lastStatus), text.pointee != 0 {
            return String(cString: text)
        }
        return Self.text(status)
    }

    /// An error for a failed call, with the JetStream error code when the server sent one.
    static func make(
        _ code: EventBusError.Code, _ what: String, status: natsStatus, jsError: jsErrCode = jsErrCode(0),
        text: String? = nil
    ) -> EventBusError {
        var message = "\(what): \(text ?? lastErrorText(status))"
        if jsError.rawValue != 0 { message += " (JetStream error \(jsError.rawValue))" }
        let resolved: EventBusError.Code =
            switch status {
            case NATS_TIMEOUT: .timeout
            case NATS_CONNECTION_CLOSED, NATS_CONNECTION_DISCONNECTED, NATS_NO_SERVER, NATS_STALE_CONNECTION:
                .connectionFailed
            default: code
            }
        return EventBusError(resolved, message, isRetriable: isRetriable(status))
    }
}
