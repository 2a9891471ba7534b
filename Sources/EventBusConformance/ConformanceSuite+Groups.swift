import EventBus

extension ConformanceSuite {
    /// Two members of one group: each message is handled once overall and both members get some.
    static func sharesMessagesInGroup(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let group = context.group()
        let seenA = Recorder<Int>()
        let seenB = Recorder<Int>()
        _ = try await bus.subscribe(topic: topic, group: group) { seenA.record(number(in: $0)) }
        _ = try await bus.subscribe(topic: topic, group: group) { seenB.record(number(in: $0)) }
        let count = 400
        try await bus.publish((0..<count).map { numbered($0, topic: topic, key: "share-\($0)") })
        try await waitUntil(timeout: context.timeout(10), "\(count) messages handled by the group") {
            seenA.count + seenB.count >= count
        }
        try await context.shutDown(bus)
        let report = deliveryReport(expected: 0..<count, seen: seenA.snapshot + seenB.snapshot)
        try expect(
            report.missing.isEmpty && report.duplicates == 0,
            "expected each message once in the group; missing \(sample(report.missing)), \(report.duplicates) duplicates"
        )
        try expect(
            seenA.count > 0 && seenB.count > 0,
            "the members did not share the work: A handled \(seenA.count), B handled \(seenB.count)")
        return .passed(notes: ["A handled \(seenA.count), B handled \(seenB.count) of \(count)"])
    }

    /// Two groups on one topic: each group handles every message once.
    static func fansOutAcrossGroups(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let seenA = Recorder<Int>()
        let seenB = Recorder<Int>()
        _ = try await bus.subscribe(topic: topic, group: context.group("a")) { seenA.record(number(in: $0)) }
        _ = try await bus.subscribe(topic: topic, group: context.group("b")) { seenB.record(number(in: $0)) }
        let count = 300
        try await bus.publish((0..<count).map { numbered($0, topic: topic, key: "fan-\($0 % 17)") })
        try await waitUntil(
            timeout: context.timeout(10), "\(count) messages in each group (A \(seenA.count), B \(seenB.count))"
        ) {
            seenA.count >= count && seenB.count >= count
        }
        try await context.shutDown(bus)
        let reportA = deliveryReport(expected: 0..<count, seen: seenA.snapshot)
        let reportB = deliveryReport(expected: 0..<count, seen: seenB.snapshot)
        try expect(
            reportA.missing.isEmpty && reportB.missing.isEmpty && reportA.duplicates == 0 && reportB.duplicates == 0,
            "group A: missing \(sample(reportA.missing)), \(reportA.duplicates) duplicates; "
                + "group B: missing \(sample(reportB.missing)), \(reportB.duplicates) duplicates")
        return .passed(notes: ["each group handled \(count) once"])
    }

    /// Members A and B of one group; A's handler blocks, so A holds unhandled messages when it is
    /// closed. Every message must end up handled (by A before it stopped, or by B), and B must have
    /// taken over some of the keys A held; duplicates are allowed by at-least-once delivery and
    /// reported.
    static func redeliversOnClose(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let group = context.group()
        let keys = 16
        let release = Flag()
        // Whatever happens, A's handlers must not stay blocked, or shutting the bus down would wait.
        defer { release.set() }
        let enteredA = Recorder<Int>()
        let seenA = Recorder<Int>()
        let seenB = Recorder<Int>()
        let blockTimeout = context.timeout(20)
        let subscriptionA = try await bus.subscribe(topic: topic, group: group) { message in
            enteredA.record(number(in: message))
            let deadline = ContinuousClock.now + blockTimeout
            while !release.isSet && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            seenA.record(number(in: message))
        }
        _ = try await bus.subscribe(topic: topic, group: group) { seenB.record(number(in: $0)) }
        // Few keys with many messages each, so A's blocked keys have messages queued behind them.
        let count = 320
        try await bus.publish((0..<count).map { numbered($0, topic: topic, key: "close-\($0 % keys)") })
        try await waitUntil(
            timeout: context.timeout(10), "both members busy (A entered \(enteredA.count), B handled \(seenB.count))"
        ) {
            enteredA.count >= 1 && seenB.count >= 1
        }
        let closing = Task { await subscriptionA.close() }
        // close() must stop A taking messages before A's blocked handlers return; there is no signal
        // for "close has begun", so give it a moment before releasing them.
        try await Task.sleep(for: context.timeout(0.02))
        let keysOfA = Set(enteredA.snapshot.map { $0 % keys })
        release.set()
        try await finishes(within: context.timeout(10), "member A's close() to return") { await closing.value }
        try await waitUntil(
            timeout: context.timeout(15),
            "\(count) messages handled by A or B (A \(seenA.count), B \(seenB.count))"
        ) {
            Set(seenA.snapshot + seenB.snapshot).count >= count
        }
        try await context.shutDown(bus)
        let report = deliveryReport(expected: 0..<count, seen: seenA.snapshot + seenB.snapshot)
        try expect(
            report.missing.isEmpty,
            "lost \(report.missing.count) messages: \(sample(report.missing)); A handled \(seenA.count), "
                + "B handled \(seenB.count), \(report.duplicates) duplicates")
        let takenOver = seenB.snapshot.filter { keysOfA.contains($0 % keys) }.count
        try expect(
            takenOver > 0,
            "B handled none of the messages of the \(keysOfA.count) keys A held; A handled \(seenA.count) "
                + "(close did not stop A before its handlers were released?)")
        return .passed(notes: [
            "A held \(keysOfA.count) keys and handled \(seenA.count); B handled \(seenB.count), "
                + "\(takenOver) of them from A's keys; \(report.duplicates) duplicates"
        ])
    }
}
