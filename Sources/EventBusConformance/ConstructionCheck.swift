import EventBus

/// The one construction shape, checked the same way on every backend: a bus built with
/// `Bus.connect(configuration)` carries a message from publish to handler, and an invalid
/// configuration is refused by `connect` with `invalidConfiguration` naming the field.
public enum ConstructionCheck {
    /// Connects with `valid`, round-trips one keyed message on a fresh topic, shuts down; then
    /// connects with `invalid` and expects `invalidConfiguration` with `field`. Throws a
    /// ``ConformanceFailure`` naming what differed; `timeout` bounds the wait for the message.
    public static func run<Bus: ConnectableEventBus>(
        _: Bus.Type,
        valid: Bus.Configuration,
        invalid: Bus.Configuration,
        invalidField: String,
        timeout: Duration = .seconds(30),
        file: StaticString = #filePath,
        line: UInt = #line
    ) async throws {
        let bus = try await Bus.connect(valid)
        let topic = "construction-\(UInt32.random(in: 0...UInt32.max))"
        let received = Recorder<[UInt8]>()
        let subscription = try await bus.subscribe(topic: topic, group: "construction") { message in
            received.record(message.payload)
        }
        try await bus.publish(OutgoingMessage(topic: topic, key: "k", payload: Array("built".utf8)))
        let deadline = ContinuousClock.now + timeout
        while received.count == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        await subscription.close()
        await bus.shutdown()
        guard received.snapshot == [Array("built".utf8)] else {
            throw ConformanceFailure(
                scenario: "construction",
                message: "\(Bus.self) built with connect(_:) delivered \(received.count) messages instead of 1",
                file: file, line: line)
        }
        do {
            let refused = try await Bus.connect(invalid)
            await refused.shutdown()
            throw ConformanceFailure(
                scenario: "construction", message: "\(Bus.self).connect(_:) accepted an invalid configuration",
                file: file, line: line)
        } catch let error as EventBusError {
            guard error.code == .invalidConfiguration, error.field == invalidField else {
                throw ConformanceFailure(
                    scenario: "construction",
                    message:
                        "\(Bus.self).connect(_:) refused with \(error.code) field \(error.field ?? "nil"), expected "
                        + "invalidConfiguration field \(invalidField)", file: file, line: line)
            }
        }
    }
}
