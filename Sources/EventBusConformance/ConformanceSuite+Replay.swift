import EventBus

extension ConformanceSuite {
    /// An envelope whose handler fails every attempt is dead-lettered; the handler is fixed and the
    /// dead letter replayed with `replayDeadLetter` within seconds (inside NATS's duplicate window).
    /// The replay is handled exactly once, with the original event ID and payload, without the
    /// dead-letter headers, with `X-Replay-Of` = the event ID; the aggregate's later event, published
    /// before the replay, was handled too (the key moved on), and one published after it follows it.
    static func replaysDeadLetter(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let fixed = Flag()
        let failures = Counter()
        let handled = Recorder<ReceivedMessage>()
        let deadLetters = Recorder<ReceivedMessage>()
        _ = try await bus.subscribe(topic: context.features.deadLetterTopic(topic), group: context.group("dlq")) {
            deadLetters.record($0)
        }
        let poison = event("replayed", version: 1)
        let next = event("replayed", version: 2)
        _ = try await bus.subscribe(topic: topic, group: context.group()) { message in
            if message.headers[header: OutgoingMessage.EnvelopeHeader.eventID] == poison.eventID && !fixed.isSet {
                failures.add()
                throw InjectedFailure("event \(poison.eventID) before the fix")
            }
            handled.record(message)
        }
        try await bus.publish([poison, next], to: topic)
        try await waitUntil(
            timeout: context.timeout(10),
            "the dead letter and the next event (have \(deadLetters.count), \(handled.count))"
        ) {
            deadLetters.count >= 1 && handled.count >= 1
        }
        fixed.set()
        let letter = deadLetters.snapshot[0]
        try await bus.replayDeadLetter(letter)
        // Same aggregate, published after the replay: once it is handled, a replay handled twice
        // would have been handled before it.
        let marker = event("replayed", version: 3)
        try await bus.publish(marker, to: topic)
        try await waitUntil(
            timeout: context.timeout(10), "the replay and a later event (have \(handled.count) handled)"
        ) {
            handled.snapshot.contains { $0.headers[header: OutgoingMessage.EnvelopeHeader.eventID] == marker.eventID }
        }
        try await context.shutDown(bus)

        let seen = handled.snapshot
        let ids = seen.map { $0.headers[header: OutgoingMessage.EnvelopeHeader.eventID] ?? "none" }
        try expect(
            ids == [next.eventID, poison.eventID, marker.eventID],
            "expected the next event, the replay once, then the marker; saw event IDs \(ids) "
                + "(next \(next.eventID), replayed \(poison.eventID), marker \(marker.eventID))")
        let replay = seen[1]
        let decoded = try? EnvelopeCodec.decode(replay.payload)
        try expect(
            decoded?.eventID == poison.eventID && decoded?.payload == poison.payload,
            "the replay does not carry the original envelope: \(String(decoding: replay.payload, as: UTF8.self))")
        try expect(
            replay.headers[header: DeadLetter.Header.replayOf] == poison.eventID,
            "\(DeadLetter.Header.replayOf) is \(replay.headers[header: DeadLetter.Header.replayOf] ?? "missing"), "
                + "expected \(poison.eventID)")
        let leftovers = replay.headers.map(\.name).filter {
            $0 == errorHeader || $0 == attemptsHeader || $0.hasPrefix("X-Original-")
        }
        try expect(leftovers.isEmpty, "the replay still carries dead-letter headers \(leftovers)")
        try expect(
            failures.value == context.features.maxRestarts + 1,
            "the handler failed \(failures.value) times before the fix, expected \(context.features.maxRestarts + 1)")
        return .passed(notes: ["dead letter replayed and handled once, X-Replay-Of \(poison.eventID)"])
    }
}
