import CNats
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The baseline: nats.c used directly, the way a hand-tuned C program would, for comparison.
final class RawNATSClient {
    let connection: OpaquePointer
    let jetStream: OpaquePointer

    init(url: String) throws {
        var connectionPointer: OpaquePointer?
        var status = natsConnection_ConnectTo(&connectionPointer, url)
        guard status == NATS_OK, let connectionPointer else { throw RawError("connect", status) }
        connection = connectionPointer
        var options = jsOptions()
        jsOptions_Init(&options)
        options.PublishAsync.MaxPending = 4096
        var jsPointer: OpaquePointer?
        status = natsConnection_JetStream(&jsPointer, connection, &options)
        guard status == NATS_OK, let jsPointer else { throw RawError("jetstream", status) }
        jetStream = jsPointer
    }

    struct RawError: Error, CustomStringConvertible {
        let description: String
        init(_ what: String, _ status: natsStatus) {
            description = "\(what): \(String(cString: natsStatus_GetText(status)))"
        }
    }

    func addStream(name: String, subject: String) throws {
        try addStream(name: name, subjects: [subject])
    }

    func addStream(name: String, subjects: [String]) throws {
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        let nameCopy = strdup(name)
        let subjectCopies = subjects.map { strdup($0) }
        defer {
            free(nameCopy)
            for copy in subjectCopies { free(copy) }
        }
        var subjectPointers: [UnsafePointer<CChar>?] = subjectCopies.map { UnsafePointer($0) }
        var jsError = jsErrCode(0)
        let status = subjectPointers.withUnsafeMutableBufferPointer { buffer -> natsStatus in
            config.Name = UnsafePointer(nameCopy)
            config.Subjects = buffer.baseAddress
            config.SubjectsLen = Int32(buffer.count)
            config.Storage = js_FileStorage
            return js_AddStream(nil, jetStream, &config, nil, &jsError)
        }
        guard status == NATS_OK else { throw RawError("add stream \(name)", status) }
    }

    func deleteStream(name: String) {
        var jsError = jsErrCode(0)
        _ = js_DeleteStream(jetStream, name, nil, &jsError)
    }

    /// Publishes every payload asynchronously with a `Nats-Msg-Id`, then waits for all PubAcks.
    func publishAsync(subject: String, payload: [UInt8], ids: [String]) throws {
        for id in ids {
            try Self.publishOne(through: jetStream, subject: subject, payload: payload, id: id)
        }
        try Self.completePublishes(of: jetStream)
    }

    /// Sends one message with `X-Event-ID` and `Nats-Msg-Id` set to `id` through `context`'s
    /// asynchronous publish, waiting out stalls at its in-flight limit.
    static func publishOne(through context: OpaquePointer, subject: String, payload: [UInt8], id: String) throws {
        var message: OpaquePointer?
        var status = payload.withUnsafeBytes {
            natsMsg_Create(
                &message, subject, nil, $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32($0.count))
        }
        guard status == NATS_OK else { throw RawError("create", status) }
        status = natsMsgHeader_Set(message, "X-Event-ID", id)
        if status == NATS_OK { status = natsMsgHeader_Set(message, "Nats-Msg-Id", id) }
        repeat {
            status = js_PublishMsgAsync(context, &message, nil)
        } while status == NATS_TIMEOUT
        natsMsg_Destroy(message)
        guard status == NATS_OK else { throw RawError("publish", status) }
    }

    /// Waits until every asynchronous publish of `context` has its PubAck.
    static func completePublishes(of context: OpaquePointer) throws {
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        options.MaxWait = 60_000
        let status = js_PublishAsyncComplete(context, &options)
        guard status == NATS_OK else { throw RawError("complete", status) }
    }

    /// Binds (creating when missing) a durable pull consumer with explicit acks.
    static func pullSubscribe(_ jetStream: OpaquePointer, subject: String, durable: String) throws -> OpaquePointer {
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        options.ManualAck = true
        options.Config.AckPolicy = js_AckExplicit
        options.Config.MaxAckPending = 8192
        var subscription: OpaquePointer?
        var jsError = jsErrCode(0)
        let status = js_PullSubscribe(&subscription, jetStream, subject, durable, nil, &options, &jsError)
        guard status == NATS_OK, let subscription else { throw RawError("pull subscribe", status) }
        return subscription
    }

    /// Reads `count` messages through a durable pull consumer, acking each one.
    func consume(stream: String, subject: String, durable: String, count: Int, batch: Int) throws {
        let subscription = try Self.pullSubscribe(jetStream, subject: subject, durable: durable)
        defer { natsSubscription_Destroy(subscription) }
        var jsError = jsErrCode(0)
        var status = NATS_OK
        var received = 0
        while received < count {
            var list = natsMsgList()
            status = natsSubscription_Fetch(&list, subscription, Int32(batch), 5000, &jsError)
            if status == NATS_OK {
                for index in 0..<Int(list.Count) {
                    _ = natsMsg_Ack(list.Msgs[index], nil)
                }
                received += Int(list.Count)
            } else if status != NATS_TIMEOUT {
                natsMsgList_Destroy(&list)
                throw RawError("fetch", status)
            }
            natsMsgList_Destroy(&list)
        }
    }

    deinit {
        jsCtx_Destroy(jetStream)
        natsConnection_Destroy(connection)
    }
}
