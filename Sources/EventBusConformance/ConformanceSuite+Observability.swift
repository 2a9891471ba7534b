import EventBus
import MetricsTestKit

extension ConformanceSuite {
    /// Ten messages of one key through a bus reporting to `TestMetrics`: message 3 fails once,
    /// message 6 fails every attempt. The publish metrics count 10 sent with outcome `success`, the
    /// process metrics 9 `handled`, `1 + maxRestarts` `retried`, 1 `dead_lettered`, and as many
    /// handler calls in the process timer; the gauges were sampled. After shutdown a publish fails
    /// and counts `eventbus_publish_errors_total{code="shutDown"}`. Every name and dimension is the
    /// one `BusMetrics` documents.
    static func reportsMetrics(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let metrics = TestMetrics()
        let bus = try await context.observedBus(
            .init(metricsFactory: metrics, metricsSampleInterval: .milliseconds(100), maxConsumerLag: nil))
        let backend = context.observed?.backend ?? ""
        let topic = context.topic()
        let group = context.group()
        let maxRestarts = context.features.maxRestarts
        let flakyFailures = Counter()
        let handled = Recorder<Int>()
        let deadLetters = Recorder<Int>()
        _ = try await bus.subscribe(topic: context.features.deadLetterTopic(topic), group: context.group("dlq")) {
            deadLetters.record(number(in: $0))
        }
        _ = try await bus.subscribe(topic: topic, group: group) { message in
            let number = number(in: message)
            if number == 3, flakyFailures.add() == 1 { throw InjectedFailure("message 3, first attempt") }
            if number == 6 { throw InjectedFailure("message 6 always fails") }
            handled.record(number)
        }
        let count = 10
        try await bus.publish((0..<count).map { numbered($0, topic: topic, key: "metrics") })
        let consume: [(String, String)] = [("backend", backend), ("topic", topic), ("group", group)]
        func processed(_ outcome: String) -> Int64 {
            (try? metrics.expectCounter(BusMetrics.messagesProcessed, consume + [("outcome", outcome)]))?.totalValue
                ?? 0
        }
        try await waitUntil(
            timeout: context.timeout(15),
            "9 handled and 1 dead-lettered in the metrics (have \(processed("handled")), \(processed("dead_lettered")))"
        ) {
            processed("handled") >= 9 && processed("dead_lettered") >= 1 && deadLetters.count >= 1
        }
        try expect(processed("handled") == 9, "handled: \(processed("handled")), expected 9")
        try expect(processed("dead_lettered") == 1, "dead_lettered: \(processed("dead_lettered")), expected 1")
        try expect(
            processed("retried") == Int64(1 + maxRestarts),
            "retried: \(processed("retried")), expected \(1 + maxRestarts) (message 3 once, message 6 \(maxRestarts) times)"
        )
        try expect(processed("discarded") == 0, "discarded: \(processed("discarded")), expected 0")
        let calls = { (outcome: String) -> Int in
            (try? metrics.expectTimer(BusMetrics.processDuration, consume + [("outcome", outcome)]))?.values.count ?? 0
        }
        try expect(calls("success") == 9, "process timer: \(calls("success")) successful calls, expected 9")
        try expect(
            calls("failure") == 2 + maxRestarts,
            "process timer: \(calls("failure")) failed calls, expected \(2 + maxRestarts)")
        let publish: [(String, String)] = [("backend", backend), ("topic", topic)]
        let sent = try metrics.expectCounter(BusMetrics.messagesSent, publish + [("outcome", "success")])
        try expect(sent.totalValue == Int64(count), "sent: \(sent.totalValue), expected \(count)")
        let publishTimer = try metrics.expectTimer(BusMetrics.publishDuration, publish + [("outcome", "success")])
        try expect(
            publishTimer.values.count == 1 && publishTimer.values[0] > 0,
            "publish timer: \(publishTimer.values), expected one positive duration for the one call")
        // A pipelined call counts when its acknowledgements arrive.
        let pipelinedTopic = context.topic("pipelined")
        let receipt = try await bus.publishPipelined(
            (0..<5).map { numbered($0, topic: pipelinedTopic, key: "metrics") })
        try await receipt.acknowledged()
        let pipelined: [(String, String)] = [("backend", backend), ("topic", pipelinedTopic)]
        try await waitUntil(timeout: context.timeout(5), "the pipelined call's 5 messages counted as sent") {
            (try? metrics.expectCounter(BusMetrics.messagesSent, pipelined + [("outcome", "success")]))?.totalValue == 5
        }
        let pipelinedTimer = try metrics.expectTimer(BusMetrics.publishDuration, pipelined + [("outcome", "success")])
        try expect(
            pipelinedTimer.values.count == 1 && pipelinedTimer.values[0] > 0,
            "pipelined publish timer: \(pipelinedTimer.values), expected one positive duration for the one call")
        try await waitUntil(timeout: context.timeout(5), "the in-flight and inbox-depth gauges to be sampled") {
            (try? metrics.expectGauge(BusMetrics.messagesInFlight, consume)) != nil
                && (try? metrics.expectGauge(BusMetrics.inboxDepth, consume)) != nil
        }
        try await context.shutDown(bus)
        do {
            try await bus.publish(numbered(count, topic: topic, key: "metrics"))
            throw fail("publish after shutdown succeeded")
        } catch let error as EventBusError {
            try expect(error.code == .shutDown, "publish after shutdown threw \(error.code), expected shutDown")
        }
        let errors = try metrics.expectCounter(BusMetrics.publishErrors, publish + [("code", "shutDown")])
        try expect(errors.totalValue == 1, "publish errors: \(errors.totalValue), expected 1")
        let failed = try metrics.expectCounter(BusMetrics.messagesSent, publish + [("outcome", "failure")])
        try expect(failed.totalValue == 1, "sent with outcome failure: \(failed.totalValue), expected 1")
        return .passed(notes: [
            "sent 10, handled 9, retried \(1 + maxRestarts), dead-lettered 1, 1 shutDown publish error"
        ])
    }

    /// A handler gated shut while 5,000 messages (1,000 keys × 5) are published: `EventBus.consumerLag(topic:group:)`
    /// reads exactly 5,000 (every message is stored before `publish` returns and none can be
    /// acknowledged; the read is polled until it settles because a broker's offset or consumer
    /// information may trail a request behind), the lag gauges sum to 5,000, and with a bound of
    /// 1,000 `health()` is `degraded`, its cause naming `topic/group`. Once the gate opens and
    /// every message was handled, the lag reads 0 and health is `healthy` again.
    static func reportsConsumerLag(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        let metrics = TestMetrics()
        let bound: Int64 = 1_000
        let bus = try await context.observedBus(
            .init(metricsFactory: metrics, metricsSampleInterval: .milliseconds(200), maxConsumerLag: bound))
        let backend = context.observed?.backend ?? ""
        let topic = context.topic()
        let group = context.group()
        let gate = Flag()
        let handled = Counter()
        _ = try await bus.subscribe(topic: topic, group: group) { _ in
            let deadline = ContinuousClock.now + .seconds(120)
            while !gate.isSet && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            _ = handled.add()
        }
        let count = 5_000
        try await bus.publish((0..<count).map { numbered($0, topic: topic, key: "k\($0 % 1_000)") })
        var lag = try await bus.consumerLag(topic: topic, group: group)
        try await waitUntil(
            timeout: context.timeout(10), interval: .milliseconds(100),
            "consumerLag to read \(count) (reads \(lag.total))"
        ) {
            lag = try await bus.consumerLag(topic: topic, group: group)
            return lag.total == Int64(count)
        }
        try expect(handled.value == 0, "\(handled.value) messages were handled through a closed gate")
        try expect(
            lag.partitions.reduce(0) { $0 + $1.lag } == lag.total && lag.topic == topic && lag.group == group,
            "the reading does not add up: \(lag)")
        let gauges = lag.partitions.map { entry in
            [("backend", backend), ("topic", topic), ("group", group), ("partition", String(entry.partition))]
        }
        func gaugeSum() -> Int64 {
            gauges.reduce(0) { sum, dimensions in
                sum + Int64((try? metrics.expectGauge(BusMetrics.consumerLag, dimensions))?.lastValue ?? 0)
            }
        }
        try await waitUntil(timeout: context.timeout(5), "the lag gauges to sum to \(count) (sum \(gaugeSum()))") {
            gaugeSum() == Int64(count)
        }
        var health = await bus.health()
        try expect(
            health.status == .degraded && (health.details["eventbus.cause"] ?? "").contains("\(topic)/\(group)"),
            "health with lag \(count) above \(bound): \(health.status), \(health.details)")
        gate.set()
        try await waitUntil(timeout: context.timeout(20), "all \(count) handled (have \(handled.value))") {
            handled.value >= count
        }
        try await waitUntil(
            timeout: context.timeout(10), interval: .milliseconds(100), "consumerLag to read 0 (reads \(lag.total))"
        ) {
            lag = try await bus.consumerLag(topic: topic, group: group)
            return lag.total == 0
        }
        try await waitUntil(timeout: context.timeout(10), interval: .milliseconds(100), "health to be healthy again") {
            health = await bus.health()
            return health.status == .healthy
        }
        try expect(
            health.details["eventbus.consume.lag"]?.contains("\(topic)/\(group)=0") == true,
            "healthy health does not show lag 0 for \(topic)/\(group): \(health.details)")
        return .passed(notes: ["lag \(count) → degraded; drained → lag 0, healthy"])
    }
}
