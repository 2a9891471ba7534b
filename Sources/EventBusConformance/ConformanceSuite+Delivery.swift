import EventBus

extension ConformanceSuite {
    /// 500 messages, half published one by one and half in one batch, over 50 keys: each handled
    /// exactly once, checked again after shutdown drained the bus so late duplicates are counted.
    static func deliversEveryMessageOnce(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let seen = Recorder<Int>()
        _ = try await bus.subscribe(topic: topic, group: context.group()) { message in
            seen.record(number(in: message))
        }
        let total = 500
        for number in 0..<(total / 2) {
            try await bus.publish(numbered(number, topic: topic, key: "key-\(number % 50)"))
        }
        try await bus.publish(((total / 2)..<total).map { numbered($0, topic: topic, key: "key-\($0 % 50)") })
        try await waitUntil(timeout: context.timeout(10), "\(total) messages handled (have \(seen.count))") {
            seen.count >= total
        }
        try await context.shutDown(bus)
        let report = deliveryReport(expected: 0..<total, seen: seen.snapshot)
        try expect(
            report.missing.isEmpty && report.duplicates == 0 && report.unexpected.isEmpty,
            "expected each of \(total) messages once; missing \(sample(report.missing)), "
                + "\(report.duplicates) duplicates, unexpected \(sample(report.unexpected))")
        return .passed(notes: ["\(total) published, \(seen.count) handled, 0 duplicates"])
    }

    /// Messages on topic A and topic B with their own subscribers: neither sees the other's messages.
    static func isolatesTopics(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topicA = context.topic("a")
        let topicB = context.topic("b")
        let seenA = Recorder<ReceivedMessage>()
        let seenB = Recorder<ReceivedMessage>()
        // The same group name on both topics: a group is scoped to its topic.
        _ = try await bus.subscribe(topic: topicA, group: context.group()) { seenA.record($0) }
        _ = try await bus.subscribe(topic: topicB, group: context.group()) { seenB.record($0) }
        let count = 100
        try await bus.publish((0..<count).map { numbered($0, topic: topicA, key: "k\($0 % 7)") })
        try await bus.publish((count..<(2 * count)).map { numbered($0, topic: topicB, key: "k\($0 % 7)") })
        try await waitUntil(timeout: context.timeout(10), "both topics handled") {
            seenA.count >= count && seenB.count >= count
        }
        try await context.shutDown(bus)
        let a = seenA.snapshot
        let b = seenB.snapshot
        let strayInA = a.filter { $0.topic != topicA || number(in: $0) >= count }
        let strayInB = b.filter { $0.topic != topicB || number(in: $0) < count }
        try expect(
            strayInA.isEmpty && strayInB.isEmpty,
            "topic A's subscriber saw \(strayInA.count) foreign messages, topic B's saw \(strayInB.count)")
        let reportA = deliveryReport(expected: 0..<count, seen: a.map(number(in:)))
        let reportB = deliveryReport(expected: count..<(2 * count), seen: b.map(number(in:)))
        try expect(
            reportA.missing.isEmpty && reportB.missing.isEmpty,
            "missing on A \(sample(reportA.missing)), on B \(sample(reportB.missing))")
        return .passed(notes: ["A handled \(a.count), B handled \(b.count), 0 crossed"])
    }

    /// Publishing right after `subscribe` returned must be received: subscribe waits for readiness.
    static func subscribeReturnsWhenReady(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let seen = Recorder<String>()
        for round in 0..<3 {
            let group = context.group("g\(round)")
            _ = try await bus.subscribe(topic: topic, group: group) { message in
                seen.record("\(group)/\(number(in: message))")
            }
            try await bus.publish(numbered(round, topic: topic))
        }
        // Group g0 must see messages 0, 1, 2; g1 sees 1, 2; g2 sees 2 (each joined before its publish).
        let expected = Set((0..<3).flatMap { round in (round..<3).map { "\(context.group("g\(round)"))/\($0)" } })
        try await waitUntil(timeout: context.timeout(10), "messages published right after subscribe") {
            expected.isSubset(of: Set(seen.snapshot))
        }
        return .passed(notes: ["\(seen.count) deliveries for \(expected.count) expected"])
    }
}
