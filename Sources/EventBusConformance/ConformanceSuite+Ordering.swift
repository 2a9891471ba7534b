import EventBus

extension ConformanceSuite {
    /// 1,000 aggregates × 10 versions as envelopes from 8 concurrent publishers; each publisher owns
    /// its aggregates and publishes their versions in order, interleaved with each other. The
    /// handler must see every aggregate's versions as 1, 2, …, 10.
    static func keepsOrderPerAggregate(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let tracker = OrderTracker()
        _ = try await bus.subscribe(
            topic: topic, group: context.group(),
            envelopeHandler: { envelope in
                tracker.record(key: envelope.aggregateID, version: envelope.eventVersion)
            })
        let aggregates = 1000
        let versions: Int64 = 10
        let publishers = 8
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for publisher in 0..<publishers {
                group.addTask {
                    let owned = stride(from: publisher, to: aggregates, by: publishers).map { "order-\($0)" }
                    for version in 1...versions {
                        // One batch per version: this publisher's aggregates interleave, each in order.
                        try await bus.publish(owned.map { event($0, version: version) }, to: topic)
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = aggregates * Int(versions)
        try await waitUntil(timeout: context.timeout(15), "\(total) events handled (have \(tracker.received))") {
            tracker.received >= total
        }
        let elapsed = ContinuousClock.now - start
        try await context.shutDown(bus)
        try expect(
            tracker.violations == 0,
            "\(tracker.violations) order violations, e.g. \(sample(tracker.violationSamples))")
        let incomplete = tracker.lastVersions.filter { $0.value != versions }
        try expect(
            tracker.lastVersions.count == aggregates && incomplete.isEmpty && tracker.received == total,
            "expected \(aggregates) aggregates at v\(versions) and \(total) events; saw "
                + "\(tracker.lastVersions.count) aggregates, \(incomplete.count) incomplete, \(tracker.received) events"
        )
        return .passed(notes: ["\(total) events in \(elapsed), 0 order violations"])
    }

    /// Handlers of different aggregates hold until enough of them are inside at the same moment.
    static func handlesAggregatesConcurrently(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let probe = ConcurrencyProbe()
        let target = context.features.minimumObservedConcurrency
        let holdTimeout = context.timeout(5)
        let handled = Counter()
        _ = try await bus.subscribe(topic: topic, group: context.group()) { message in
            await probe.hold(message.key ?? "", until: target, timeout: holdTimeout)
            handled.add()
        }
        // Many more keys than the target, so keys sharing a partition or actor cannot starve it.
        let keys = max(32, target * 4)
        try await bus.publish((0..<keys).map { numbered($0, topic: topic, key: "concurrent-\($0)") })
        try await waitUntil(
            timeout: context.timeout(10), "\(target) aggregates inside handlers at once (peak \(probe.peak))"
        ) {
            probe.peak >= target
        }
        try await waitUntil(timeout: context.timeout(10), "all \(keys) messages handled") { handled.value >= keys }
        return .passed(notes: ["peak \(probe.peak) aggregates handled at once (target \(target))"])
    }
}
