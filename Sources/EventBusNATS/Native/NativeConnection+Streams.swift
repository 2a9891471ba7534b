import CNats
import EventBus

extension NativeConnection {
    /// The subjects of stream `name`, or nil when it does not exist. Blocks.
    func streamSubjects(_ name: String) throws(EventBusError) -> [String]? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jsError = jsErrCode(0)
        let status = js_GetStreamInfo(&info, jetStream, name, nil, &jsError)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        if status == NATS_NOT_FOUND || jsError == JSStreamNotFoundErr { return nil }
        guard status == NATS_OK, let info, let config = info.pointee.Config else {
            throw NativeError.make(.nativeError, "cannot read stream '\(name)'", status: status, jsError: jsError)
        }
        var subjects: [String] = []
        for index in 0..<Int(config.pointee.SubjectsLen) {
            if let subject = config.pointee.Subjects[index] { subjects.append(String(cString: subject)) }
        }
        return subjects
    }

    /// Creates stream `name` capturing `subjects` with `settings`; an existing stream is left as is
    /// and its subjects returned. Blocks.
    func ensureStream(
        name: String, subjects: [String], settings: NATSConfiguration.StreamSettings
    ) throws(EventBusError) -> [String] {
        if let existing = try streamSubjects(name) { return existing }
        let strings = NativeCStrings()
        let namePointer = strings.add(name)
        let subjectStrings = NativeCStrings(subjects)
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        config.Name = namePointer
        config.Storage = settings.storage == .file ? js_FileStorage : js_MemoryStorage
        config.Retention =
            switch settings.retention {
            case .limits: js_LimitsPolicy
            case .interest: js_InterestPolicy
            case .workQueue: js_WorkQueuePolicy
            }
        config.Replicas = Int64(settings.replicas)
        config.MaxAge = settings.maxAge.nanoseconds
        config.MaxBytes = settings.maxBytes
        config.MaxMsgs = settings.maxMessages
        config.Duplicates = settings.duplicateWindow.nanoseconds
        var jsError = jsErrCode(0)
        let status = subjectStrings.withArray { array, count -> natsStatus in
            config.Subjects = array
            config.SubjectsLen = count
            var info: UnsafeMutablePointer<jsStreamInfo>?
            let status = js_AddStream(&info, jetStream, &config, nil, &jsError)
            if let info { jsStreamInfo_Destroy(info) }
            return status
        }
        if status == NATS_OK { return subjects }
        if jsError == JSStreamNameExistErr, let existing = try streamSubjects(name) {
            return existing  // another process created it first
        }
        throw NativeError.make(
            .nativeError, "cannot create stream '\(name)' for \(subjects)", status: status, jsError: jsError)
    }
}

extension NativeConnection {
    /// The settings of existing stream `name` that provisioning compares with the configuration, as
    /// the JetStream API spells them (`storage` file|memory, `retention` limits|interest|workqueue,
    /// `num_replicas`). Blocks.
    func streamSettings(_ name: String) throws(EventBusError) -> (storage: String, retention: String, replicas: Int) {
        let info = try jetStreamRequest("$JS.API.STREAM.INFO.\(name)", body: "")
        let config = info["config"] as? [String: Any] ?? [:]
        return (
            config["storage"] as? String ?? "file", config["retention"] as? String ?? "limits",
            config["num_replicas"] as? Int ?? 1
        )
    }

    /// Whether durable consumer `name` of stream `stream` exists. Blocks.
    func consumerExists(stream: String, name: String) throws(EventBusError) -> Bool {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jsError = jsErrCode(0)
        let status = js_GetConsumerInfo(&info, jetStream, stream, name, nil, &jsError)
        defer { if let info { jsConsumerInfo_Destroy(info) } }
        if status == NATS_OK { return true }
        if status == NATS_NOT_FOUND || jsError == JSConsumerNotFoundErr { return false }
        throw NativeError.make(
            .nativeError, "cannot read consumer '\(name)' of stream '\(stream)'", status: status, jsError: jsError)
    }
}
