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

extension ConformanceSuite {
    /// 200 aggregates × 10 versions from 4 concurrent publishers that pipeline: each publishes its
    /// aggregates' next version with `publishPipelined` (envelopes and raw messages in turn) right
    /// after the previous call returned, without awaiting receipts, and awaits them all at the end.
    /// The handler must see every aggregate's versions as 1, 2, …, 10. A pipelined call holding a
    /// message to an illegal topic, or (where the backend has a limit) one above the broker's
    /// largest message, is refused with `invalidArgument` and none of its messages is delivered.
    static func keepsOrderWhenPipelined(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let bus = try await context.bus()
        let topic = context.topic()
        let tracker = OrderTracker()
        let refusedSeen = Counter()
        _ = try await bus.subscribe(
            topic: topic, group: context.group(),
            envelopeHandler: { envelope in
                if envelope.aggregateID.hasPrefix("refused") { refusedSeen.add() }
                tracker.record(key: envelope.aggregateID, version: envelope.eventVersion)
            })
        try await expectCode(.invalidArgument, "a pipelined call with a message to an illegal topic") {
            let accepted = try OutgoingMessage(envelope: event("refused", version: 1), topic: topic)
            let illegal = try OutgoingMessage(envelope: event("refused", version: 2), topic: "illegal topic")
            _ = try await bus.publishPipelined([accepted, illegal])
        }
        var refusals = 1
        if let limit = context.features.maxMessageBytes {
            try await expectCode(.invalidArgument, "a pipelined call with a message above the broker's limit") {
                let accepted = try OutgoingMessage(envelope: event("refused-size", version: 1), topic: topic)
                var oversized = try OutgoingMessage(envelope: event("refused-size", version: 2), topic: topic)
                oversized.payload = Array(repeating: UInt8(ascii: "x"), count: limit + 1)
                _ = try await bus.publishPipelined([accepted, oversized])
            }
            refusals += 1
        }
        let aggregates = 200
        let versions: Int64 = 10
        let publishers = 4
        let start = ContinuousClock.now
        let receipts = try await withThrowingTaskGroup(of: [PublishReceipt].self) { group in
            for publisher in 0..<publishers {
                group.addTask {
                    let owned = stride(from: publisher, to: aggregates, by: publishers).map { "pipelined-\($0)" }
                    var receipts: [PublishReceipt] = []
                    for version in 1...versions {
                        let envelopes = owned.map { event($0, version: version) }
                        if version % 2 == 1 {
                            receipts.append(try await bus.publishPipelined(envelopes, to: topic))
                        } else {
                            let messages = try envelopes.map { envelope throws(EventBusError) in
                                try OutgoingMessage(envelope: envelope, topic: topic)
                            }
                            receipts.append(try await bus.publishPipelined(messages))
                        }
                    }
                    return receipts
                }
            }
            var all: [PublishReceipt] = []
            for try await receipts in group { all += receipts }
            return all
        }
        // Two tasks may await one receipt.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for receipt in receipts {
                group.addTask { try await receipt.acknowledged() }
                group.addTask { try await receipt.acknowledged() }
            }
            try await group.waitForAll()
        }
        try expect(receipts.allSatisfy(\.isSettled), "a receipt that returned from acknowledged() is not settled")
        let total = aggregates * Int(versions)
        try await waitUntil(timeout: context.timeout(15), "\(total) events handled (have \(tracker.received))") {
            tracker.received >= total
        }
        // A marker published after everything else: once it is handled, a refused message would have been too.
        try await bus.publish(event("marker", version: 1), to: topic)
        try await waitUntil(timeout: context.timeout(10), "the marker handled") { tracker.received >= total + 1 }
        let elapsed = ContinuousClock.now - start
        try await context.shutDown(bus)
        try expect(refusedSeen.value == 0, "\(refusedSeen.value) messages of the refused pipelined call were delivered")
        try expect(
            tracker.violations == 0,
            "\(tracker.violations) order violations, e.g. \(sample(tracker.violationSamples))")
        let incomplete = tracker.lastVersions.filter { $0.key.hasPrefix("pipelined") && $0.value != versions }
        try expect(
            incomplete.isEmpty && tracker.received == total + 1,
            "expected \(aggregates) aggregates at v\(versions) and \(total) events; saw "
                + "\(incomplete.count) incomplete, \(tracker.received - 1) events")
        return .passed(notes: [
            "\(total) pipelined events in \(elapsed), 0 order violations, \(refusals) refused calls delivered nothing"
        ])
    }
}
