import EventBus
import EventBusConformance
import EventBusKafka
import XCTest

/// The shared construction shape (`ConnectableEventBus.connect`), with the body every backend runs.
final class KafkaConstructionTests: XCTestCase {
    func testConnectBuildsAWorkingBusAndRefusesAnInvalidConfiguration() async throws {
        try KafkaTestBroker.requireReachable()
        let valid = try KafkaTestBroker.configuration(quiet: true)
        var invalid = valid
        invalid.consumer.heartbeatInterval = invalid.consumer.sessionTimeout
        do {
            try await ConstructionCheck.run(
                KafkaEventBus.self, valid: valid, invalid: invalid, invalidField: "consumer.heartbeatInterval",
                timeout: .seconds(60))
        } catch let failure as ConformanceFailure {
            XCTFail(failure.description, file: failure.file, line: failure.line)
        }
    }
}
