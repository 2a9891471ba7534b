import EventBus

extension ConformanceSuite {
    /// A fast publisher against slow handlers on a bus with small capacities: the publisher must be
    /// held back, so published-but-unhandled messages never exceed the profile's bound and resident
    /// memory grows by less than its limit.
    ///
    /// In flight is counted as (publishes returned) − (handlers returned), sampled after every
    /// publish; this slightly undercounts (a publish being accepted is not yet counted), by at most
    /// one message per publisher task.
    static func boundsInFlightMessages(_ context: ScenarioContext) async throws -> ConformanceOutcome {
        guard let profile = context.features.backpressure else {
            return .skipped(reason: "no backpressure profile given")
        }
        let bus: any EventBus
        if let makeBus = profile.makeBus {
            bus = context.adopt(try await makeBus())
        } else {
            bus = try await context.bus()
        }
        let topic = context.topic()
        let handled = Counter()
        let published = Counter()
        let peakInFlight = PeakGauge()
        let peakResident = PeakGauge()
        let pause = profile.handlerPause
        let baseline = ProcessResources.current().residentBytes
        _ = try await bus.subscribe(topic: topic, group: context.group()) { _ in
            try await Task.sleep(for: pause)
            handled.add()
        }
        let total = profile.messageCount
        let publishers = 4
        let payloadSize = profile.payloadSize
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for publisher in 0..<publishers {
                group.addTask {
                    for number in stride(from: publisher, to: total, by: publishers) {
                        // A fresh buffer per message: a shared one would hide buffering from RSS.
                        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: payloadSize)
                        payload[0] = UInt8(truncatingIfNeeded: number)
                        try await bus.publish(
                            OutgoingMessage(topic: topic, key: "bounded-\(number % 64)", payload: payload))
                        peakInFlight.record(published.add() - handled.value)
                        if number % 256 < publishers, let resident = ProcessResources.current().residentBytes {
                            peakResident.record(resident)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let publishTime = ContinuousClock.now - start
        try await waitUntil(timeout: context.timeout(30), "\(total) slow messages handled (have \(handled.value))") {
            handled.value >= total
        }
        try await context.shutDown(bus)
        let peak = peakInFlight.value ?? 0
        var notes = ["peak in flight \(peak) of \(total) (publish took \(publishTime))"]
        if let bound = profile.maxInFlight {
            try expect(
                peak <= bound,
                "\(peak) messages were published but not handled at once, above the bound \(bound): "
                    + "the publisher was not held back")
            notes.append("bound \(bound)")
        }
        if let baseline, let peakBytes = peakResident.value {
            let growth = peakBytes - baseline
            try expect(
                growth <= profile.maxResidentGrowthBytes,
                "resident memory grew by \(growth >> 20) MiB, above \(profile.maxResidentGrowthBytes >> 20) MiB")
            notes.append("RSS growth \(growth >> 10) KiB")
        }
        return .passed(notes: notes)
    }
}
