import CNats
import EventBus

extension NativeConnection {
    /// Deletes durable consumer `durable` of stream `stream`; false when it did not exist. Blocks.
    func deleteConsumer(stream: String, durable: String) throws(EventBusError) -> Bool {
        var jsError = jsErrCode(0)
        let status = js_DeleteConsumer(jetStream, stream, durable, nil, &jsError)
        if status == NATS_OK { return true }
        if status == NATS_NOT_FOUND || jsError == JSConsumerNotFoundErr || jsError == JSStreamNotFoundErr {
            return false
        }
        throw NativeError.make(
            .nativeError, "cannot delete consumer '\(durable)' of stream '\(stream)'", status: status,
            jsError: jsError)
    }
}
