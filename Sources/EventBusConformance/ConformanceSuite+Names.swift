import EventBus

extension ConformanceSuite {
    /// Topic names Apache Kafka refuses (`org.apache.kafka.common.internals.Topic`: characters
    /// `[a-zA-Z0-9._-]`, at most 249, not `.` or `..`) plus the ones `EventBusNames` refuses for
    /// NATS's sake (a dot outside the dead-letter suffix) or Kafka's metric names (`_dlq`).
    static let illegalTopics: [String] = [
        "orders events", "orders/v1", "ordérs", String(repeating: "a", count: 250), ".", "..", "orders\n",
        "orders*", "orders.v1", "orders>", ".dlq", "orders_dlq",
    ]

    /// Group names a NATS consumer name cannot carry.
    static let illegalGroups: [String] = [
        "billing team", "billing.v1", "billing*", "bïlling", "billing/x", "billing\t",
    ]

    /// Every illegal topic is refused by `publish` (single, batch, envelopes) and `subscribe`, every
    /// illegal group by `subscribe`, each with `invalidArgument` naming the field; a pair one
    /// character over `EventBusNames.maxTopicAndGroupLength` is refused; the bus still serves.
    static func rejectsIllegalNames(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let group = context.group()
        for topic in illegalTopics {
            let shown = topic.debugDescription
            try await expectInvalid("topic", "publish to \(shown)") { try await bus.publish(numbered(0, topic: topic)) }
            try await expectInvalid("topic", "batch publish to \(shown)") {
                try await bus.publish([numbered(0, topic: context.topic()), numbered(1, topic: topic)])
            }
            try await expectInvalid("topic", "envelope publish to \(shown)") {
                try await bus.publish(event("names-1", version: 1), to: topic)
            }
            try await expectInvalid("topic", "subscribe to \(shown)") {
                _ = try await bus.subscribe(topic: topic, group: group) { _ in }
            }
        }
        for illegal in illegalGroups {
            try await expectInvalid("group", "subscribe with group \(illegal.debugDescription)") {
                _ = try await bus.subscribe(topic: context.topic(), group: illegal) { _ in }
            }
        }
        let tooLong = padded(context.topic("long"), to: EventBusNames.maxTopicAndGroupLength + 1 - group.utf8.count)
        try await expectInvalid("group", "subscribe with topic and group of 240 characters") {
            _ = try await bus.subscribe(topic: tooLong, group: group) { _ in }
        }
        let seen = Counter()
        _ = try await bus.subscribe(topic: context.topic(), group: group) { _ in seen.add() }
        try await bus.publish(numbered(1, topic: context.topic()))
        try await waitUntil(timeout: context.timeout(10), "a message after the refused calls") { seen.value >= 1 }
        let refused = illegalTopics.count * 4 + illegalGroups.count + 1
        return .passed(notes: ["\(refused) calls with illegal names refused, bus still serving"])
    }

    /// Names at the edge of `EventBusNames` work: a 249-character topic takes a publish; a topic
    /// and a group holding `-` and `_`, 239 characters together, receive their message; a message
    /// published to a dead-letter topic (`<topic>.dlq`) reaches that topic's subscribers.
    static func acceptsEdgeNames(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        try await bus.publish(numbered(0, topic: padded(context.topic("longest"), to: EventBusNames.maxTopicLength)))

        let group = context.group("g_x-y")
        let topic = padded(context.topic("a-b_c"), to: EventBusNames.maxTopicAndGroupLength - group.utf8.count)
        let seen = Recorder<Int>()
        _ = try await bus.subscribe(topic: topic, group: group) { seen.record(number(in: $0)) }

        let deadLetterTopic = context.features.deadLetterTopic(context.topic("dead_letters"))
        let letters = Recorder<Int>()
        _ = try await bus.subscribe(topic: deadLetterTopic, group: group) { letters.record(number(in: $0)) }

        try await bus.publish(numbered(1, topic: topic))
        try await bus.publish(numbered(2, topic: deadLetterTopic))
        try await waitUntil(
            timeout: context.timeout(15), "the edge-name messages (have \(seen.snapshot), \(letters.snapshot))"
        ) {
            seen.count >= 1 && letters.count >= 1
        }
        try expect(seen.snapshot == [1], "the \(topic.count)-character topic received \(seen.snapshot), expected [1]")
        try expect(letters.snapshot == [2], "\(deadLetterTopic) received \(letters.snapshot), expected [2]")
        return .passed(notes: ["topic of \(topic.count) + group of \(group.count) characters; \(deadLetterTopic)"])
    }

    /// `name` followed by `x` up to `length` characters.
    static func padded(_ name: String, to length: Int) -> String {
        name + String(repeating: "x", count: max(0, length - name.utf8.count))
    }

    private static func expectInvalid(
        _ field: String, _ what: String, file: StaticString = #filePath, line: UInt = #line,
        _ operation: () async throws -> Void
    ) async throws {
        do {
            try await operation()
        } catch let error as EventBusError {
            try expect(
                error.code == .invalidArgument && error.field == field,
                "\(what) threw \(error), expected invalidArgument for field '\(field)'", file: file, line: line)
            return
        }
        throw fail("\(what) did not throw; expected invalidArgument for field '\(field)'", file: file, line: line)
    }
}
