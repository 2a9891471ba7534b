import EventBus

extension NATSEventBus {
    /// Queues `messages` for the publishing thread and returns with a receipt for their PubAcks.
    ///
    /// Everything the publishing thread could refuse about one message is checked first: the
    /// topic's name and subjects, the headers and the size against the server's `max_payload`
    /// (`invalidArgument`, `topicMismatch`); then nothing of the call is queued. Waits while
    /// `publish.maxPending` pipelined messages are unacknowledged. Messages to a dead-letter topic
    /// (`<topic>.dlq`) go to that topic's dead-letter subject, as ``publish(_:)-([OutgoingMessage])``
    /// sends them, in the same queue.
    public func publishPipelined(_ messages: [OutgoingMessage]) async throws(EventBusError) -> PublishReceipt {
        guard !messages.isEmpty else { return .settled }
        var messages = messages
        let call = PipelinedCall(&messages, tracing: configuration.pool.tracing, metrics: publishMetrics)
        let runs: [SubjectRun]
        do throws(EventBusError) {
            runs = try subjectRuns(messages)
            try checkCarriable(messages)
        } catch {
            call.fail(error)
            throw error
        }
        return try await enqueuePipelined(messages, runs: runs, call: call)
    }

    /// Publishes domain events to `topic` as ``publish(_:to:)`` does, pipelined as
    /// ``publishPipelined(_:)-([OutgoingMessage])`` is; each envelope is validated and encoded,
    /// and every message checked, before anything is queued.
    public func publishPipelined(_ envelopes: [Envelope], to topic: String) async throws(EventBusError)
        -> PublishReceipt
    {
        guard !envelopes.isEmpty else { return .settled }
        let (call, messages) = try PipelinedCall.encoding(
            envelopes, to: topic, tracing: configuration.pool.tracing, metrics: publishMetrics)
        let subject: String?
        do throws(EventBusError) {
            subject = try publishSubject(forTopic: topic)
            try checkCarriable(messages)
        } catch {
            call.fail(error)
            throw error
        }
        return try await enqueuePipelined(
            messages, runs: [SubjectRun(range: messages.indices, subject: subject)], call: call)
    }

    /// Consecutive messages of a call that go to one fixed subject (a dead-letter topic's), or to
    /// their topics' partition subjects (`subject` nil).
    struct SubjectRun {
        var range: Range<Int>
        var subject: String?
    }

    /// The dead-letter subject for a dead-letter topic (`<topic>.dlq`), nil for a topic published to
    /// its partition subjects; checks the topic's name and subjects.
    private func publishSubject(forTopic topic: String) throws(EventBusError) -> String? {
        let suffix = configuration.deadLetter.subjectSuffix
        try EventBusNames.validateTopic(topic, deadLetterSuffix: suffix)
        if let base = EventBusNames.deadLetterBase(of: topic, deadLetterSuffix: suffix) {
            return try configuration.subjects.deadLetterSubject(forTopic: base)
        }
        _ = try checkedSubject(topic)
        return nil
    }

    /// Splits a call into runs by subject, so that messages of one key keep their order; checks
    /// every topic's name and subjects. Awaited and pipelined publishes both send by these runs.
    func subjectRuns(_ messages: [OutgoingMessage]) throws(EventBusError) -> [SubjectRun] {
        var runs: [SubjectRun] = []
        var lastTopic: String?
        var subject: String?
        for index in messages.indices {
            if messages[index].topic != lastTopic {
                lastTopic = messages[index].topic
                subject = try publishSubject(forTopic: messages[index].topic)
            }
            if let last = runs.last, last.subject == subject {
                runs[runs.count - 1].range = last.range.lowerBound..<(index + 1)
            } else {
                runs.append(SubjectRun(range: index..<(index + 1), subject: subject))
            }
        }
        return runs
    }

    /// Runs the publishing thread's per-message checks here, so that a refusal throws before
    /// anything of the call is queued instead of failing one message among queued ones.
    private func checkCarriable(_ messages: [OutgoingMessage]) throws(EventBusError) {
        // Not `maxPayload`: that takes nats.c's lock, which a stalled socket write can hold.
        let limit = connection.knownMaxPayload
        var scratch: [UInt8] = []
        for message in messages {
            try NativeHeaders.checkCarriable(message, limit: limit, scratch: &scratch)
        }
    }

    /// Takes window room for `messages`, queues them, and returns their receipt; metrics and spans
    /// are recorded when the last PubAck (or failure) settles it.
    private func enqueuePipelined(
        _ messages: [OutgoingMessage], runs: [SubjectRun], call: PipelinedCall
    ) async throws(EventBusError) -> PublishReceipt {
        let count = messages.count
        do {
            try await pipelineWindow.acquire(count)
        } catch {
            call.fail(error)
            throw error
        }
        let window = pipelineWindow
        let completion = call.completion(count: count) { window.release(count) }
        if runs.count == 1 {
            publisher.enqueue(messages, subject: runs[0].subject, completion: completion)
        } else {
            // Queued one after another from this task: the publishing thread sends them in this order.
            for run in runs {
                publisher.enqueue(Array(messages[run.range]), subject: run.subject, completion: completion)
            }
        }
        return PublishReceipt(completion)
    }
}
