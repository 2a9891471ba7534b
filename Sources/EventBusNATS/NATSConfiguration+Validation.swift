import EventBus

extension NATSConfiguration {
    /// The stream subjects in effect: the configured ones, or `<subjectPrefix>.*` and
    /// `<subjectPrefix>.*.p.*`.
    public var effectiveStreamSubjects: [String] {
        stream.subjects.isEmpty ? subjects.defaultStreamSubjects : stream.subjects
    }

    /// The dead-letter stream's name in effect.
    public var effectiveDeadLetterStreamName: String {
        deadLetter.streamName.isEmpty ? stream.name + "_DLQ" : deadLetter.streamName
    }

    /// The topic → subject mapping this configuration describes.
    public var subjects: NATSSubjects {
        NATSSubjects(
            prefix: subjectPrefix, deadLetterSuffix: deadLetter.subjectSuffix, partitions: partitionsPerTopic)
    }

    /// Throws the first value that is out of range or inconsistent.
    public func validate() throws(EventBusError) {
        func fail(_ field: String, _ message: String) -> EventBusError {
            EventBusError(.invalidConfiguration, message, field: field)
        }
        guard !servers.isEmpty else { throw fail("servers", "at least one server URL is needed") }
        for server in servers where !(server.hasPrefix("nats://") || server.hasPrefix("tls://")) {
            throw fail("servers", "server URL '\(server)' must start with nats:// or tls://")
        }
        switch credentials {
        case .none: break
        case .userPassword(let user, _) where user.isEmpty:
            throw fail("credentials", "user must not be empty")
        case .token(let token) where token.isEmpty:
            throw fail("credentials", "token must not be empty")
        default: break
        }
        guard reconnect.maxReconnects >= -1 else {
            throw fail("reconnect.maxReconnects", "must be -1 (forever) or more")
        }
        guard reconnect.wait >= .zero else { throw fail("reconnect.wait", "must not be negative") }
        guard reconnect.bufferSize >= 0 else { throw fail("reconnect.bufferSize", "must not be negative") }
        guard health.probeTimeout >= .milliseconds(1) else {
            throw fail("health.probeTimeout", "must be at least 1 ms")
        }
        guard health.unhealthyAfter >= .zero else { throw fail("health.unhealthyAfter", "must not be negative") }
        try validateSubjectParts(fail)
        try validateStream(fail)
        guard consumer.ackWait >= .milliseconds(100) else {
            throw fail("consumer.ackWait", "must be at least 100 ms")
        }
        guard consumer.maxDeliver == -1 || consumer.maxDeliver >= 1 else {
            throw fail("consumer.maxDeliver", "must be -1 (unlimited) or at least 1")
        }
        guard consumer.maxAckPending >= 1 else { throw fail("consumer.maxAckPending", "must be at least 1") }
        guard (1...1024).contains(partitionsPerTopic) else {
            throw fail("partitionsPerTopic", "must be between 1 and 1024")
        }
        guard consumer.memberTimeout >= .milliseconds(500) else {
            throw fail("consumer.memberTimeout", "must be at least 500 ms")
        }
        guard (1...10_000).contains(consumer.fetchBatch) else {
            throw fail("consumer.fetchBatch", "must be between 1 and 10000")
        }
        guard consumer.fetchWait >= .milliseconds(1) else {
            throw fail("consumer.fetchWait", "must be at least 1 ms")
        }
        guard consumer.fetchWait <= consumer.ackWait / 4 else {
            // In-progress acks go out between fetches, every quarter of the ack wait.
            throw fail("consumer.fetchWait", "must be at most a quarter of consumer.ackWait")
        }
        guard publish.maxPending >= 1 else { throw fail("publish.maxPending", "must be at least 1") }
        guard publish.ackTimeout >= .milliseconds(1) else {
            throw fail("publish.ackTimeout", "must be at least 1 ms")
        }
        try pool.validate()
    }

    private func validateSubjectParts(_ fail: (String, String) -> EventBusError) throws(EventBusError) {
        let prefixTokens = subjectPrefix.split(separator: ".", omittingEmptySubsequences: false)
        guard !subjectPrefix.isEmpty,
            prefixTokens.allSatisfy({ token in
                (try? NATSSubjects.validateToken(String(token), field: "subjectPrefix")) != nil
            })
        else {
            throw fail("subjectPrefix", "'\(subjectPrefix)' must be dot-separated tokens of letters, digits, '-', '_'")
        }
        let suffix = deadLetter.subjectSuffix
        guard suffix.hasPrefix("."), suffix.count > 1,
            (try? NATSSubjects.validateToken(String(suffix.dropFirst()), field: "subjectSuffix")) != nil
        else {
            throw fail("deadLetter.subjectSuffix", "'\(suffix)' must be '.' followed by one token")
        }
        try EventBusNames.validateDeadLetterSuffix(suffix, field: "deadLetter.subjectSuffix")
        guard !consumer.durablePrefix.isEmpty,
            (try? NATSSubjects.validateToken(consumer.durablePrefix, field: "durablePrefix")) != nil
        else {
            throw fail("consumer.durablePrefix", "must be letters, digits, '-', '_'")
        }
    }

    private func validateStream(_ fail: (String, String) -> EventBusError) throws(EventBusError) {
        for (field, name) in [("stream.name", stream.name), ("deadLetter.streamName", effectiveDeadLetterStreamName)] {
            guard (try? NATSSubjects.validateToken(name, field: field)) != nil else {
                throw fail(field, "stream name '\(name)' must be letters, digits, '-', '_'")
            }
        }
        guard stream.name != effectiveDeadLetterStreamName else {
            throw fail("deadLetter.streamName", "must differ from the main stream's name")
        }
        let deadLetterSample = subjects.prefix + ".topic" + deadLetter.subjectSuffix
        if NATSSubjects.covers(effectiveStreamSubjects, subject: deadLetterSample) {
            throw fail(
                "stream.subjects",
                "the stream's subjects also capture dead letters (\(deadLetterSample)); a subject may belong to one stream only"
            )
        }
        guard stream.replicas >= 1 && stream.replicas <= 5 else {
            throw fail("stream.replicas", "must be between 1 and 5")
        }
        guard stream.maxAge >= .zero else { throw fail("stream.maxAge", "must not be negative") }
        guard stream.maxBytes == -1 || stream.maxBytes > 0 else {
            throw fail("stream.maxBytes", "must be -1 (unlimited) or positive")
        }
        guard stream.maxMessages == -1 || stream.maxMessages > 0 else {
            throw fail("stream.maxMessages", "must be -1 (unlimited) or positive")
        }
        guard stream.duplicateWindow > .zero else {
            throw fail("stream.duplicateWindow", "must be positive: publishes rely on deduplication")
        }
    }
}
