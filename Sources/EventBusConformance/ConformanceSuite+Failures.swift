import EventBus

extension ConformanceSuite {
    /// Header names a dead letter carries.
    static let errorHeader = "X-Error"
    static let attemptsHeader = "X-Attempts"

    /// Ten messages of one aggregate; the handler fails message 3 twice, then accepts it. Message 3
    /// is handled once after exactly 2 failures, the aggregate's order holds and nothing is
    /// dead-lettered.
    static func retriesFailingHandler(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let failing = 3
        let failures = 2
        let attempts = Counter()
        let handled = Recorder<Int>()
        let deadLetters = Recorder<ReceivedMessage>()
        _ = try await bus.subscribe(topic: context.features.deadLetterTopic(topic), group: context.group("dlq")) {
            deadLetters.record($0)
        }
        _ = try await bus.subscribe(topic: topic, group: context.group()) { message in
            let number = number(in: message)
            if number == failing {
                let attempt = attempts.add()
                if attempt <= failures { throw InjectedFailure("message \(number), attempt \(attempt)") }
            }
            handled.record(number)
        }
        let count = 10
        try await bus.publish((0..<count).map { numbered($0, topic: topic, key: "flaky") })
        try await waitUntil(timeout: context.timeout(10), "\(count) messages handled (have \(handled.count))") {
            handled.count >= count
        }
        try await context.shutDown(bus)
        try expect(
            attempts.value == failures + 1,
            "message \(failing) was tried \(attempts.value) times; expected \(failures) failures and 1 success")
        try expect(
            handled.snapshot == Array(0..<count),
            "expected messages handled once each in order 0..<\(count), saw \(sample(handled.snapshot, limit: 20))")
        try expect(
            deadLetters.count == 0,
            "\(deadLetters.count) messages were dead-lettered though the handler recovered")
        return .passed(notes: ["message \(failing): \(failures) failures, then handled; order kept"])
    }

    /// Message 2 of an aggregate always fails. It is dead-lettered after 1 + maxRestarts attempts
    /// with `X-Error` naming the error and `X-Attempts`; the aggregate's later messages and another
    /// aggregate's messages are still handled.
    ///
    /// "Not acknowledged early" is checked through what the API shows: the dead letter appears only
    /// after the last attempt, and (with order per key) the aggregate's next message is handled only
    /// after that. Broker-level acknowledgement itself is not observable here; `redeliversOnClose`
    /// checks that unhandled messages are not acknowledged.
    static func deadLettersPoisonMessage(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let poison = 2
        let expectedAttempts = context.features.maxRestarts + 1
        let attempts = Counter()
        let events = Recorder<String>()
        let deadLetters = Recorder<(message: ReceivedMessage, attemptsBefore: Int)>()
        let deadLetterTopic = context.features.deadLetterTopic(topic)
        _ = try await bus.subscribe(topic: deadLetterTopic, group: context.group("dlq")) { message in
            deadLetters.record((message, attempts.value))
        }
        _ = try await bus.subscribe(topic: topic, group: context.group()) { message in
            let number = number(in: message)
            if number == poison {
                let attempt = attempts.add()
                events.record("attempt-\(attempt)")
                throw InjectedFailure("message \(number), attempt \(attempt)")
            }
            events.record("handled-\(number)")
        }
        let poisoned = (0..<6).map { numbered($0, topic: topic, key: "poisoned") }
        let bystanders = (100..<105).map { numbered($0, topic: topic, key: "bystander") }
        try await bus.publish(poisoned + bystanders)
        let expectedHandled = Set([0, 1, 3, 4, 5, 100, 101, 102, 103, 104].map { "handled-\($0)" })
        try await waitUntil(timeout: context.timeout(10), "the dead letter and the other messages") {
            deadLetters.count >= 1 && expectedHandled.isSubset(of: Set(events.snapshot))
        }
        try await context.shutDown(bus)

        let letters = deadLetters.snapshot
        try expect(letters.count == 1, "expected 1 dead letter, got \(letters.count)")
        let letter = letters[0].message
        try expect(
            letter.topic == deadLetterTopic, "dead letter arrived on \(letter.topic), expected \(deadLetterTopic)")
        try expect(
            number(in: letter) == poison,
            "dead letter carries payload \(String(decoding: letter.payload, as: UTF8.self)), expected \(poison)")
        let errorText = letter.headers[header: errorHeader]
        try expect(
            errorText?.contains(InjectedFailure.marker) == true,
            "\(errorHeader) is \(errorText.map { "\"\($0)\"" } ?? "missing"), expected the handler's error text")
        let attemptsText = letter.headers[header: attemptsHeader]
        try expect(
            attemptsText == String(expectedAttempts),
            "\(attemptsHeader) is \(attemptsText ?? "missing"), expected \(expectedAttempts)")
        try expect(
            attempts.value == expectedAttempts,
            "the handler was called \(attempts.value) times for the poison message, expected \(expectedAttempts)")
        try expect(
            letters[0].attemptsBefore == expectedAttempts,
            "the dead letter arrived after \(letters[0].attemptsBefore) attempts, before all \(expectedAttempts) were made"
        )
        let log = events.snapshot
        let handledCounts = Dictionary(log.filter { $0.hasPrefix("handled-") }.map { ($0, 1) }, uniquingKeysWith: +)
        try expect(
            handledCounts.values.allSatisfy { $0 == 1 } && Set(handledCounts.keys) == expectedHandled,
            "expected the other messages handled once each, saw \(sample(log, limit: 30))")
        if context.features.guaranteedOrderPerKey {
            let lastAttempt = log.lastIndex { $0.hasPrefix("attempt-") } ?? -1
            let order = [0, 1, 3, 4, 5].compactMap { log.firstIndex(of: "handled-\($0)") }
            try expect(
                order == order.sorted() && order.count == 5 && order[1] < lastAttempt && order[2] > lastAttempt,
                "the poisoned aggregate's messages were not handled around its attempts in order: \(sample(log, limit: 30))"
            )
        }
        return .passed(notes: [
            "dead letter after \(expectedAttempts) attempts, X-Error \"\(errorText ?? "")\""
        ])
    }

    /// 3,000 messages of one aggregate fail with an error that says retrying cannot help, and nobody
    /// subscribes to the dead-letter topic. The message after them must still be handled, and the bus
    /// must shut down in time: a dead-letter topic is written, not a queue the consumer waits on.
    static func deadLettersWithoutReader(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let failing = 3000
        let failed = Counter()
        let handled = Recorder<Int>()
        _ = try await bus.subscribe(topic: topic, group: context.group()) { message in
            let number = number(in: message)
            if number < failing {
                failed.add()
                throw EventBusError(.invalidArgument, "\(InjectedFailure.marker) \(number)", isRetriable: false)
            }
            handled.record(number)
        }
        // Publishing itself may wait for room behind the stalled messages, so it runs on its own.
        let publishing = Task {
            try await bus.publish((0...failing).map { numbered($0, topic: topic, key: "unread-dead-letters") })
        }
        try await waitUntil(
            timeout: context.timeout(5),
            "the message after \(failing) dead letters (\(failed.value) failed so far; a full, unread "
                + "dead-letter topic stalls the subscription?)"
        ) {
            handled.count >= 1
        }
        try await publishing.value
        try await context.shutDown(bus)
        try expect(
            handled.snapshot == [failing] && failed.value == failing,
            "expected \(failing) failures then message \(failing) once; saw \(failed.value) failures and "
                + "\(sample(handled.snapshot))")
        return .passed(notes: ["\(failing) unread dead letters, consumption went on"])
    }

    /// Bytes that are not an envelope, between valid envelopes of the same aggregate, on a topic
    /// read by an envelope subscription: dead-lettered at once with the decode error, the valid
    /// envelopes before and after are handled.
    static func deadLettersMalformedEnvelope(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let tracker = OrderTracker()
        let deadLetters = Recorder<ReceivedMessage>()
        _ = try await bus.subscribe(topic: context.features.deadLetterTopic(topic), group: context.group("dlq")) {
            deadLetters.record($0)
        }
        _ = try await bus.subscribe(
            topic: topic, group: context.group(),
            envelopeHandler: { envelope in
                tracker.record(key: envelope.aggregateID, version: envelope.eventVersion)
            })
        let garbage = Array(#"{"event_id": "oops", "aggregate_id": 42, trailing"#.utf8)
        let binary: [UInt8] = [0xFF, 0xFE, 0x00, 0x7B]
        try await bus.publish(event("malformed-neighbour", version: 1), to: topic)
        try await bus.publish(OutgoingMessage(topic: topic, key: "malformed-neighbour", payload: garbage))
        try await bus.publish(OutgoingMessage(topic: topic, key: nil, payload: binary))
        try await bus.publish(
            [event("malformed-neighbour", version: 2), event("malformed-other", version: 1)], to: topic)
        try await waitUntil(
            timeout: context.timeout(10),
            "2 dead letters and 3 valid envelopes (have \(deadLetters.count), \(tracker.received))"
        ) {
            deadLetters.count >= 2 && tracker.received >= 3
        }
        try await context.shutDown(bus)
        try expect(
            tracker.violations == 0 && tracker.received == 3
                && tracker.lastVersions == ["malformed-neighbour": 2, "malformed-other": 1],
            "expected the 3 valid envelopes handled once in order, saw \(tracker.lastVersions) with "
                + "\(tracker.received) events and \(tracker.violations) violations")
        let letters = deadLetters.snapshot
        try expect(
            letters.count == 2, "expected 2 dead letters (truncated JSON and binary bytes), got \(letters.count)")
        let payloads = Set(letters.map(\.payload))
        try expect(
            payloads == [garbage, binary], "the dead letters do not carry the original bytes: \(letters.map(\.payload))"
        )
        for letter in letters {
            let errorText = letter.headers[header: errorHeader] ?? ""
            try expect(
                errorText.lowercased().contains("malformed"),
                "\(errorHeader) is \"\(errorText)\", expected the decode error (malformedEnvelope)")
            let attemptsText = letter.headers[header: attemptsHeader]
            try expect(
                attemptsText == "1",
                "\(attemptsHeader) is \(attemptsText ?? "missing"); bytes that cannot decode must not be retried")
        }
        return .passed(notes: ["2 dead letters, X-Error \"\(letters[0].headers[header: errorHeader] ?? "")\""])
    }
}
